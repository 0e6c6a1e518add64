package dev.nydus4j.storage.device;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.backend.localfs.LocalfsBackendProvider;
import dev.nydus4j.backend.localfs.LocalfsConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.cache.ChunkMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlobDeviceTest {
    private static final String ID = "b".repeat(64);
    @TempDir
    Path tmp;
    private Path blobDir;
    private BlobInfo blob;
    private final List<ChunkInfo> chunks = new ArrayList<>();
    private final List<byte[]> plains = new ArrayList<>();
    private final List<byte[]> digests = new ArrayList<>();

    /** Builds a small zstd blob by hand: compressible and incompressible chunks, 4 KiB-aligned plain space. */
    @BeforeEach
    void buildBlob() throws IOException {
        long seed = System.nanoTime();
        System.out.println("BlobDeviceTest seed " + seed);
        Random rnd = new Random(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long plainOff = 0;
        for (int i = 0; i < 6; i++) {
            byte[] p = new byte[1 + rnd.nextInt(200_000)];
            if (i % 2 == 0) {
                rnd.nextBytes(p);
            } else {
                for (int j = 0; j < p.length; j++) {
                    p[j] = (byte) ("nydus".charAt(j % 5));
                }
            }
            byte[] c = CompressionAlgorithm.ZSTD.compress(p, 0, p.length);
            byte[] stored = c == null ? p : c;
            chunks.add(new ChunkInfo(i, out.size(), stored.length, plainOff, p.length, c != null, 0));
            out.write(stored);
            plainOff += (p.length + 4095) & ~4095L;
            plains.add(p);
            digests.add(DigestAlgorithm.BLAKE3.digest(p, 0, p.length));
        }
        blobDir = Files.createDirectories(tmp.resolve("blobs"));
        Files.write(blobDir.resolve(ID), out.toByteArray());
        blob = new BlobInfo(ID, 0, 1 << 20, chunks.size(), CompressionAlgorithm.ZSTD.id(),
                DigestAlgorithm.BLAKE3.id(), BlobInfo.FEATURE_ALIGNED, out.size(), plainOff, 0, 0, 0, 0, 0,
                new byte[32], new byte[32], 0);
    }

    private BlobDevice device(Path cache, boolean validate) throws IOException {
        return new BlobDevice(id -> new LocalfsBackendProvider().open(LocalfsConfig.ofDir(blobDir.toString()), id,
                BackendContext.simple("/")), cache, validate);
    }

    @Test
    void readsThroughCacheAndSurvivesRestart() throws Exception {
        Path cache = tmp.resolve("cache");
        try (BlobDevice dev = device(cache, true)) {
            for (int i = 0; i < chunks.size(); i++) {
                byte[] dst = new byte[chunks.get(i).uncompressedSize()];
                dev.readChunk(blob, chunks.get(i), digests.get(i), dst);
                assertThat(dst).isEqualTo(plains.get(i));
            }
            assertThat(dev.backendReadCount()).isEqualTo(chunks.size());
            byte[] again = new byte[chunks.get(3).uncompressedSize()];
            dev.readChunk(blob, chunks.get(3), digests.get(3), again);
            assertThat(again).isEqualTo(plains.get(3));
            assertThat(dev.backendReadCount()).isEqualTo(chunks.size());
            assertThat(dev.cacheHits()).isEqualTo(1);
        }
        assertThat(cache.resolve(ID + ".blob.data")).exists();
        assertThat(Files.size(cache.resolve(ID + ".blob.data.chunk_map"))).isEqualTo(4096 + 1);
        // the blob disappears from the backend: a restarted device still serves everything from the cache
        Files.delete(blobDir.resolve(ID));
        try (BlobDevice dev = device(cache, true)) {
            for (int i = 0; i < chunks.size(); i++) {
                byte[] dst = new byte[chunks.get(i).uncompressedSize()];
                dev.readChunk(blob, chunks.get(i), digests.get(i), dst);
                assertThat(dst).isEqualTo(plains.get(i));
            }
            assertThat(dev.backendReadCount()).isZero();
        }
    }

    @Test
    void concurrentReadersOfOneChunkFetchItOnce() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        int[] reads = {0};
        BlobDevice.BackendOpener slow = id -> {
            BlobBackend real = new LocalfsBackendProvider().open(LocalfsConfig.ofDir(blobDir.toString()), id,
                    BackendContext.simple("/"));
            return new BlobBackend() {
                public String blobId() {
                    return id;
                }

                public long size() throws IOException {
                    return real.size();
                }

                public int read(ByteBuffer dst, long pos) throws IOException {
                    synchronized (reads) {
                        reads[0]++;
                    }
                    try {
                        gate.await(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    return real.read(dst, pos);
                }

                public void close() throws IOException {
                    real.close();
                }
            };
        };
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (BlobDevice dev = new BlobDevice(slow, tmp.resolve("c2"), true)) {
            List<Future<byte[]>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                fs.add(pool.submit(() -> {
                    byte[] dst = new byte[chunks.get(2).uncompressedSize()];
                    dev.readChunk(blob, chunks.get(2), digests.get(2), dst);
                    return dst;
                }));
            }
            Thread.sleep(200);
            gate.countDown();
            for (Future<byte[]> f : fs) {
                assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo(plains.get(2));
            }
            assertThat(dev.backendReadCount()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void corruptedChunkIsAnErrorAndNeverCached() throws Exception {
        byte[] bytes = Files.readAllBytes(blobDir.resolve(ID));
        ChunkInfo c = chunks.get(1);
        bytes[(int) c.compressedOffset() + c.compressedSize() / 2] ^= 0x40;
        Files.write(blobDir.resolve(ID), bytes);
        Path cache = tmp.resolve("c3");
        try (BlobDevice dev = device(cache, true)) {
            assertThatThrownBy(() -> dev.readChunk(blob, c, digests.get(1), new byte[c.uncompressedSize()]))
                    .isInstanceOf(CorruptImageException.class).hasMessageContaining("blob " + ID + " chunk 1");
        }
        try (ChunkMap m = ChunkMap.open(cache.resolve(ID + ".blob.data.chunk_map"), chunks.size(),
                ChunkMap.Mode.UNCOMPRESSED)) {
            assertThat(m.isReady(1)).isFalse();
        }
    }

    @Test
    void truncatedBlobNamesTheChunk() throws Exception {
        byte[] bytes = Files.readAllBytes(blobDir.resolve(ID));
        ChunkInfo last = chunks.get(chunks.size() - 1);
        Files.write(blobDir.resolve(ID), java.util.Arrays.copyOf(bytes, (int) last.compressedOffset() + 3));
        try (BlobDevice dev = device(null, false)) {
            assertThatThrownBy(() -> dev.readChunk(blob, last, null, new byte[last.uncompressedSize()]))
                    .isInstanceOf(CorruptImageException.class).hasMessageContaining("blob is truncated: chunk 5");
        }
    }

    @Test
    void mapOfAnotherModeIsDiscardedWithItsData() throws Exception {
        Path cache = Files.createDirectories(tmp.resolve("c4"));
        try (ChunkMap m = ChunkMap.open(cache.resolve(ID + ".blob.data.chunk_map"), chunks.size(),
                ChunkMap.Mode.COMPRESSED)) {
            for (int i = 0; i < chunks.size(); i++) {
                m.setReady(i); // claims chunks that are not in the plain data file
            }
        }
        Files.write(cache.resolve(ID + ".blob.data"), new byte[(int) blob.uncompressedSize()]);
        try (BlobDevice dev = device(cache, true)) {
            byte[] dst = new byte[chunks.get(0).uncompressedSize()];
            dev.readChunk(blob, chunks.get(0), digests.get(0), dst);
            assertThat(dst).isEqualTo(plains.get(0));
            assertThat(dev.backendReadCount()).isEqualTo(1);
        }
    }

    @Test
    void readCachedServesRangesOnlyOfCachedChunks() throws Exception {
        try (BlobDevice dev = device(tmp.resolve("c5"), true)) {
            ChunkInfo c = chunks.get(3);
            ByteBuffer part = ByteBuffer.allocate(Math.min(100, c.uncompressedSize()));
            assertThat(dev.readCached(blob, c, 0, part)).as("not fetched yet").isFalse();
            assertThat(part.position()).isZero();
            dev.readChunk(blob, c, digests.get(3), new byte[c.uncompressedSize()]);
            int from = c.uncompressedSize() / 3;
            ByteBuffer range = ByteBuffer.allocate(c.uncompressedSize() - from);
            assertThat(dev.readCached(blob, c, from, range)).isTrue();
            assertThat(range.array()).isEqualTo(java.util.Arrays.copyOfRange(plains.get(3), from, c.uncompressedSize()));
            assertThat(dev.backendReadCount()).isEqualTo(1);
            assertThatThrownBy(() -> dev.readCached(blob, c, from, ByteBuffer.allocate(c.uncompressedSize())))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
