package dev.nydus4j.storage.cache;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheContext;
import dev.nydus4j.spi.BlobCacheProvider;
import dev.nydus4j.spi.CacheBlobInfo;
import dev.nydus4j.storage.device.BlobDevice;
import dev.nydus4j.storage.device.TestBlob;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheRegistryTest {
    private static CacheConfig config(String type, String workDir) {
        return new CacheConfig(type, false, false, PrefetchConfig.DISABLED, workDir);
    }

    @Test
    void discoversBuiltInProvidersWithSynonymsAndTheTestPlugin() {
        CacheRegistry r = CacheRegistry.discover();
        assertThat(r.types()).contains("blobcache", "filecache", "dummycache", "dummy", "memory-test");
        assertThat(r.provider("filecache")).isSameAs(r.provider("blobcache")).isInstanceOf(FileCacheProvider.class);
        assertThat(r.provider("")).isInstanceOf(DummyCacheProvider.class);
        assertThat(r.provider("dummy")).isInstanceOf(DummyCacheProvider.class);
    }

    @Test
    void unknownTypeListsTheAvailableOnesAndTheArtifact() {
        assertThatThrownBy(() -> CacheRegistry.builtIn().provider("memcache"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'memcache'")
                .hasMessageContaining("[blobcache, dummy, dummycache, filecache]")
                .hasMessageContaining("dev.nydus4j:nydus-cache-memcache");
    }

    @Test
    void fscacheIsRefusedAsUnsupportedWithoutSuggestingAnArtifact() {
        assertThatThrownBy(() -> CacheRegistry.builtIn().provider("fscache"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cache type 'fscache' is not supported by nydus4j")
                .hasMessageContaining("use cache type 'blobcache'")
                .hasMessageNotContaining("nydus-cache-fscache");
    }

    @Test
    void duplicateTypeNamesBothProviders() {
        BlobCacheProvider other = new BlobCacheProvider() {
            @Override
            public List<String> types() {
                return List.of("mine", "filecache");
            }

            @Override
            public BlobCache open(CacheConfig c, CacheBlobInfo b, BlobCacheContext ctx) {
                throw new UnsupportedOperationException();
            }
        };
        assertThatThrownBy(() -> CacheRegistry.builtIn().register(other))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("two blob cache providers for type 'filecache'")
                .hasMessageContaining(FileCacheProvider.class.getName())
                .hasMessageContaining(other.getClass().getName())
                .hasMessageContaining("remove one of the jars");
        // nothing of the rejected provider was registered
        assertThat(CacheRegistry.builtIn().types()).doesNotContain("mine");
    }

    @Test
    void invalidNamesAndMissingWorkDirAreRejected() {
        BlobCacheProvider bad = new BlobCacheProvider() {
            @Override
            public List<String> types() {
                return List.of("Bad Name");
            }

            @Override
            public BlobCache open(CacheConfig c, CacheBlobInfo b, BlobCacheContext ctx) {
                throw new UnsupportedOperationException();
            }
        };
        assertThatThrownBy(() -> CacheRegistry.empty().register(bad)).hasMessageContaining("invalid type name 'Bad Name'");
        assertThatThrownBy(() -> CacheRegistry.builtIn().provider(config("blobcache", "")))
                .hasMessageContaining("needs a work_dir");
    }

    @Test
    void customProviderFromMetaInfServicesIsUsedByConfigType() throws Exception {
        TestBlob b = new TestBlob("d".repeat(64), 6, 4_000, 9_000, 9);
        TestBlob.Backend be = b.backend();
        try (BlobDevice dev = BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.discover(), config("memory-test", "")).build()) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < b.chunks.size(); i++) {
                    byte[] dst = new byte[b.chunks.get(i).uncompressedSize()];
                    dev.readChunk(b.info, b.chunks.get(i), b.digests.get(i), dst);
                    assertThat(dst).isEqualTo(b.plains.get(i));
                }
            }
            MemoryCacheProvider.Memory m = MemoryCacheProvider.OPENED.get(b.id);
            assertThat(m.puts.get()).isEqualTo(b.chunks.size());
            assertThat(m.gets.get()).isEqualTo(b.chunks.size());
            assertThat(be.requests.get()).isEqualTo(b.chunks.size());
            assertThat(dev.cacheHits()).isEqualTo(b.chunks.size());
        }
    }
}
