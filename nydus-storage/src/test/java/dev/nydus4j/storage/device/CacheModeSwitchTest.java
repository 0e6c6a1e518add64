package dev.nydus4j.storage.device;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.storage.cache.CacheRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A work_dir filled in one cache mode and reopened in the other is detected (upstream keeps one chunk_map name for
 * both modes and would serve compressed bytes as plain data): the old cache is discarded, chunks are fetched again,
 * every byte read is right.
 */
class CacheModeSwitchTest {
    @TempDir
    Path tmp;

    private static BlobDevice device(TestBlob.Backend be, Path w, boolean compressed) {
        return BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", compressed, true,
                        PrefetchConfig.DISABLED, w.toString()))
                .build();
    }

    private static void readAll(BlobDevice dev, TestBlob b) throws Exception {
        dev.addChunks(b.info, b.chunks, b.digests);
        for (int i = 0; i < b.chunks.size(); i++) {
            byte[] dst = new byte[b.chunks.get(i).uncompressedSize()];
            dev.readChunk(b.info, b.chunks.get(i), b.digests.get(i), dst);
            assertThat(dst).as("chunk %d", i).isEqualTo(b.plains.get(i));
        }
    }

    @Test
    void switchingCompressedModeOnAWorkDirIsDetectedNotServed() throws Exception {
        TestBlob b = new TestBlob("e".repeat(64), 30, 5_000, 30_000, 10);
        Path w = tmp.resolve("w");
        boolean mode = false;
        for (int round = 0; round < 4; round++, mode = !mode) {
            TestBlob.Backend be = b.backend();
            try (BlobDevice dev = device(be, w, mode)) {
                readAll(dev, b);
                // a new mode starts empty: everything comes from the backend once
                assertThat(be.bytesServed.get()).as("round %d", round).isEqualTo(b.bytes.length);
                assertThat(dev.allCached()).isTrue();
            }
            assertThat(w.resolve(b.id + (mode ? ".blob.raw" : ".blob.data"))).exists();
            assertThat(w.resolve(b.id + (mode ? ".blob.data" : ".blob.raw"))).doesNotExist();
            // same mode again: served from the cache, no backend read
            TestBlob.Backend again = b.backend();
            try (BlobDevice dev = device(again, w, mode)) {
                readAll(dev, b);
                assertThat(again.requests.get()).isZero();
            }
        }
        assertThat(Files.size(w.resolve(b.id + ".blob.data.chunk_map"))).isEqualTo(4096 + (30 + 7) / 8);
    }
}
