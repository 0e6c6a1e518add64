package dev.nydus4j.storage.device;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.cache.CacheRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Request merging (amplify_io) of on-demand reads, against a counting in-memory backend. */
class BlobDeviceMergeTest {
    private static final String ID = "c".repeat(64);
    @TempDir
    Path tmp;

    private BlobDevice device(TestBlob.Backend backend, Path workDir, long amplifyIo, boolean compressed) {
        return BlobDevice.builder().backend(id -> backend)
                .cache(CacheRegistry.builtIn(), new CacheConfig(workDir == null ? "" : "blobcache", compressed, true,
                        PrefetchConfig.DISABLED, workDir == null ? "" : workDir.toString()))
                .amplifyIo(amplifyIo).validate(true).build();
    }

    private static void read(BlobDevice dev, TestBlob b, int i) throws Exception {
        byte[] dst = new byte[b.chunks.get(i).uncompressedSize()];
        dev.readChunk(b.info, b.chunks.get(i), b.digests.get(i), dst);
        assertThat(dst).as("chunk %d", i).isEqualTo(b.plains.get(i));
    }

    /** Expected request count when reading every chunk in order: greedy groups of contiguous chunks. */
    private static int greedyGroups(TestBlob b, int limit) {
        int groups = 0;
        long start = -1;
        for (ChunkInfo c : b.chunks) {
            if (start < 0 || c.compressedOffset() + c.compressedSize() - start > limit) {
                groups++;
                start = c.compressedOffset();
            }
        }
        return groups;
    }

    @Test
    void sequentialReadsMergeIntoRangesOfAtMostTheLimit() throws Exception {
        TestBlob b = new TestBlob(ID, 64, 8_000, 40_000, 1);
        TestBlob.Backend be = b.backend();
        int limit = 256 << 10;
        try (BlobDevice dev = device(be, tmp.resolve("w"), limit, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            for (int i = 0; i < b.chunks.size(); i++) {
                read(dev, b, i);
            }
            assertThat(be.requests.get()).isEqualTo(greedyGroups(b, limit)).isLessThan(b.chunks.size() / 3);
            assertThat(be.bytesServed.get()).isEqualTo(b.bytes.length); // nothing fetched twice, nothing extra
            assertThat(be.ranges).allSatisfy(r -> assertThat(r[1]).isLessThanOrEqualTo(limit));
            assertThat(dev.allCached()).isTrue();
            int before = be.requests.get();
            for (int i = b.chunks.size() - 1; i >= 0; i--) {
                read(dev, b, i);
            }
            assertThat(be.requests.get()).isEqualTo(before);
        }
    }

    @Test
    void adaptiveAmplificationFetchesIsolatedReadsAloneAndSequentialOnesMerged() throws Exception {
        TestBlob b = new TestBlob(ID, 40, 8_000, 20_000, 11);
        TestBlob.Backend be = b.backend();
        try (BlobDevice dev = BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        tmp.resolve("w").toString()))
                .amplifyIo(1 << 20).amplification(BlobDevice.Amplification.ADAPTIVE).build()) {
            dev.addChunks(b.info, b.chunks, b.digests);
            read(dev, b, 20); // isolated: just chunk 20
            read(dev, b, 7); // isolated: just chunk 7
            assertThat(be.requests.get()).isEqualTo(2);
            assertThat(be.bytesServed.get())
                    .isEqualTo((long) b.chunks.get(20).compressedSize() + b.chunks.get(7).compressedSize());
            read(dev, b, 8); // follows the last read: merged with 9..19 (stops at the cached chunk 20)
            assertThat(be.requests.get()).isEqualTo(3);
            for (int i = 9; i <= 20; i++) {
                read(dev, b, i);
            }
            assertThat(be.requests.get()).isEqualTo(3);
            read(dev, b, 21); // the chunk before it is cached: merged with the rest of the blob
            assertThat(be.requests.get()).isEqualTo(4);
            read(dev, b, 0); // the first chunk of a blob starts a sequential run: 0..6
            assertThat(be.requests.get()).isEqualTo(5);
            for (int i = 0; i < b.chunks.size(); i++) {
                read(dev, b, i);
            }
            assertThat(be.requests.get()).isEqualTo(5);
            assertThat(be.bytesServed.get()).isEqualTo(b.bytes.length);
        }
    }

    @Test
    void cacheMetricsSinkSeesHitsMissesAndStoredBytes() throws Exception {
        TestBlob b = new TestBlob(ID, 6, 8_000, 10_000, 12);
        TestBlob.Backend be = b.backend();
        java.util.concurrent.atomic.AtomicLong whole = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong partial = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong misses = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong stored = new java.util.concurrent.atomic.AtomicLong();
        try (BlobDevice dev = BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        tmp.resolve("w").toString()))
                .cacheMetrics(new dev.nydus4j.spi.BlobCacheMetrics() {
                    @Override
                    public void hit(boolean w) {
                        (w ? whole : partial).incrementAndGet();
                    }

                    @Override
                    public void miss() {
                        misses.incrementAndGet();
                    }

                    @Override
                    public void stored(long n) {
                        stored.addAndGet(n);
                    }
                }).build()) {
            dev.addChunks(b.info, b.chunks, b.digests);
            read(dev, b, 0); // miss: stores all 6 chunks
            read(dev, b, 1); // hit
            assertThat(dev.readCached(b.info, b.chunks.get(2), 5, java.nio.ByteBuffer.allocate(100))).isTrue();
            assertThat(misses.get()).isEqualTo(1).isEqualTo(dev.cacheMisses());
            assertThat(whole.get()).isEqualTo(1).isEqualTo(dev.cacheHits());
            assertThat(partial.get()).isEqualTo(1).isEqualTo(dev.partialHits());
            long plain = b.plains.stream().mapToLong(p -> p.length).sum();
            assertThat(stored.get()).isEqualTo(plain).isEqualTo(dev.cacheStoredBytes());
        }
    }

    @Test
    void smallAmplifyIoStillMergesUpTo128KiB() throws Exception {
        TestBlob b = new TestBlob(ID, 32, 4_000, 12_000, 2);
        TestBlob.Backend be = b.backend();
        try (BlobDevice dev = device(be, tmp.resolve("w"), 0, false)) {
            assertThat(dev.mergeLimit()).isEqualTo(128 << 10);
            dev.addChunks(b.info, b.chunks, b.digests);
            read(dev, b, 0);
            assertThat(be.requests.get()).isEqualTo(1);
            assertThat(be.ranges.get(0)[1]).isGreaterThan(b.chunks.get(0).compressedSize())
                    .isLessThanOrEqualTo(128 << 10);
        }
    }

    @Test
    void withoutChunkTableOrCacheEveryChunkIsItsOwnRequest() throws Exception {
        TestBlob b = new TestBlob(ID, 16, 4_000, 12_000, 3);
        TestBlob.Backend be = b.backend();
        try (BlobDevice dev = device(be, tmp.resolve("w"), 1 << 20, false)) {
            for (int i = 0; i < b.chunks.size(); i++) {
                read(dev, b, i);
            }
        }
        assertThat(be.requests.get()).isEqualTo(b.chunks.size());
        TestBlob.Backend be2 = b.backend();
        try (BlobDevice dev = device(be2, null, 1 << 20, false)) { // dummycache: nothing to amplify into
            dev.addChunks(b.info, b.chunks, b.digests);
            read(dev, b, 0);
            read(dev, b, 0);
        }
        assertThat(be2.requests.get()).isEqualTo(2);
        assertThat(be2.bytesServed.get()).isEqualTo(2L * b.chunks.get(0).compressedSize());
    }

    @Test
    void concurrentReadersNeverFetchAChunkTwice() throws Exception {
        TestBlob b = new TestBlob(ID, 200, 2_000, 30_000, 4);
        TestBlob.Backend be = b.backend();
        be.delayMillis = 3;
        int threads = 16;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (BlobDevice dev = device(be, tmp.resolve("w"), 512 << 10, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random rnd = new Random(t);
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < b.chunks.size(); i++) {
                    order.add(i);
                }
                Collections.shuffle(order, rnd);
                fs.add(pool.submit(() -> {
                    go.await();
                    for (int i : order) {
                        read(dev, b, i);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
            // every stored byte crossed the backend exactly once: ranges are disjoint and cover the blob
            List<long[]> rs = new ArrayList<>(be.ranges);
            rs.sort((x, y) -> Long.compare(x[0], y[0]));
            long next = 0;
            for (long[] r : rs) {
                assertThat(r[0]).as("range start").isEqualTo(next);
                next = r[0] + r[1];
            }
            assertThat(next).isEqualTo(b.bytes.length);
            assertThat(be.bytesServed.get()).isEqualTo(b.bytes.length);
            assertThat(be.requests.get()).isLessThan(b.chunks.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rangeFailingPartWayMarksNoChunkReady() throws Exception {
        TestBlob b = new TestBlob(ID, 24, 8_000, 20_000, 5);
        TestBlob.Backend be = b.backend();
        Path w = tmp.resolve("w");
        try (BlobDevice dev = device(be, w, 1 << 20, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            be.failMidway = new BackendException("connection reset by test after half the range", true);
            assertThatThrownBy(() -> read(dev, b, 0)).isInstanceOf(java.io.IOException.class)
                    .hasMessageContaining("connection reset by test");
            assertThat(be.requests.get()).isEqualTo(1);
            assertThat(dev.allCached()).isFalse();
            assertThat(dev.cacheStoredBytes()).isZero();
            be.failMidway = null;
        }
        // nothing was marked ready on disk either: a new device fetches everything again
        TestBlob.Backend be2 = b.backend();
        try (BlobDevice dev = device(be2, w, 1 << 20, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            for (int i = 0; i < b.chunks.size(); i++) {
                read(dev, b, i);
            }
            assertThat(be2.bytesServed.get()).isEqualTo(b.bytes.length);
        }
    }

    @Test
    void corruptNeighbourIsNeitherStoredNorServed() throws Exception {
        TestBlob b = new TestBlob(ID, 8, 8_000, 10_000, 6);
        TestBlob.Backend be = b.backend();
        ChunkInfo bad = b.chunks.get(3);
        be.corruptAt = bad.compressedOffset() + bad.compressedSize() / 2;
        try (BlobDevice dev = device(be, tmp.resolve("w"), 1 << 20, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            read(dev, b, 0); // one range covering all 8 chunks; chunk 3 fails verification
            assertThat(be.requests.get()).isEqualTo(1);
            be.corruptAt = -1;
            read(dev, b, 2); // stored from the merged range
            assertThat(be.requests.get()).isEqualTo(1);
            read(dev, b, 3); // was not stored: fetched again, now intact
            assertThat(be.requests.get()).isEqualTo(2);
        }
    }

    @Test
    void wrongBytesInTheRequestedChunkFailClearly() throws Exception {
        TestBlob b = new TestBlob(ID, 4, 8_000, 10_000, 7);
        TestBlob.Backend be = b.backend();
        be.corruptAt = b.chunks.get(0).compressedSize() / 2;
        try (BlobDevice dev = device(be, tmp.resolve("w"), 1 << 20, false)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            assertThatThrownBy(() -> read(dev, b, 0)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("chunk 0");
        }
    }

    @Test
    void compressedCacheMergesAndServesDecodedBytes() throws Exception {
        TestBlob b = new TestBlob(ID, 40, 8_000, 30_000, 8);
        TestBlob.Backend be = b.backend();
        Path w = tmp.resolve("w");
        try (BlobDevice dev = device(be, w, 1 << 20, true)) {
            dev.addChunks(b.info, b.chunks, b.digests);
            for (int i = 0; i < b.chunks.size(); i++) {
                read(dev, b, i);
            }
            assertThat(dev.readCached(b.info, b.chunks.get(1), 0, java.nio.ByteBuffer.allocate(10))).isFalse();
        }
        assertThat(w.resolve(ID + ".blob.raw")).exists();
        assertThat(Files.size(w.resolve(ID + ".blob.raw"))).isEqualTo(b.bytes.length);
        assertThat(be.bytesServed.get()).isEqualTo(b.bytes.length);
    }
}
