package dev.nydus4j.storage.cache;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheContext;
import dev.nydus4j.spi.BlobCacheProvider;
import dev.nydus4j.spi.CacheBlobInfo;
import dev.nydus4j.spi.CacheChunk;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The {@code dummycache} cache type (synonym {@code dummy}; also what an empty {@code cache.type} means, CONFIG.md
 * 7): keeps nothing, every read goes to the backend, reads are not amplified and prefetch has no effect.
 */
public final class DummyCacheProvider implements BlobCacheProvider {
    @Override
    public List<String> types() {
        return List.of("dummycache", "dummy");
    }

    @Override
    public BlobCache open(CacheConfig config, CacheBlobInfo blob, BlobCacheContext context) {
        return new Dummy(blob);
    }

    private record Dummy(CacheBlobInfo blob) implements BlobCache {
        @Override
        public boolean storesCompressed() {
            return false;
        }

        @Override
        public boolean persistent() {
            return false;
        }

        @Override
        public boolean contains(int index) {
            return false;
        }

        @Override
        public boolean get(CacheChunk chunk, int from, ByteBuffer dst) {
            return false;
        }

        @Override
        public void put(CacheChunk chunk, ByteBuffer data) {
            // keeps nothing
        }

        @Override
        public int readyCount() {
            return 0;
        }

        @Override
        public void close() {
        }
    }
}
