package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.TreeGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileChunkerTest {
    @TempDir
    Path tmp;

    @Test
    void parallelAndSequentialBuildsAreByteIdentical() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().chunkSize(4096).scale(4));
        BuildOptions o = BuildOptions.defaults().withChunkSize(4096);
        BuildResult seq = new ImageBuilder(o).hashThreads(0).build(src, tmp.resolve("b0"), tmp.resolve("blob0"),
                null);
        BuildResult par = new ImageBuilder(o).hashThreads(4).build(src, tmp.resolve("b4"), tmp.resolve("blob4"),
                null);
        assertThat(par.newBlobId()).isEqualTo(seq.newBlobId());
        assertThat(Files.mismatch(tmp.resolve("b0"), tmp.resolve("b4"))).isEqualTo(-1L);
        assertThat(Files.mismatch(tmp.resolve("blob0"), tmp.resolve("blob4"))).isEqualTo(-1L);
    }

    /** The in-flight chunk buffers of a build with its own threads stay bounded in number and bytes. */
    @Test
    void inFlightBuffersAreBoundedByCountAndBytes() {
        assertThat(FileChunker.ownBuffers(2, 1 << 20)).isEqualTo(24);
        assertThat(FileChunker.ownBuffers(1, 4096)).isEqualTo(16);
        // many cores: at most 64 buffers, but never fewer than two per thread plus two
        assertThat(FileChunker.ownBuffers(16, 4096)).isEqualTo(64);
        assertThat(FileChunker.ownBuffers(64, 4096)).isEqualTo(130);
        // large chunks: 32 MiB of chunk buffers at most, again not fewer than two per thread plus two
        assertThat(FileChunker.ownBuffers(2, 4 << 20)).isEqualTo(8);
        assertThat(FileChunker.ownBuffers(2, 16 << 20)).isEqualTo(6);
        for (int threads = 1; threads <= 64; threads++) {
            for (int chunk = 4096; chunk <= 16 << 20; chunk <<= 1) {
                int n = FileChunker.ownBuffers(threads, chunk);
                assertThat(n).isBetween(2 * threads + 2, Math.max(2 * threads + 2, 64));
                assertThat((long) n * chunk).isLessThanOrEqualTo(Math.max(32L << 20, (2L * threads + 2) * chunk));
            }
        }
    }

    /**
     * Two builds running at once on one {@link HashPool} (nydusify's layers): while both run they digest on their
     * own threads, once the smaller ended the bigger one's chunks go to the pool; either way each output is
     * byte-identical to a sequential build of the same source.
     */
    @Test
    @Timeout(60)
    void buildsSharingAHashPoolAreByteIdenticalToSequentialBuilds() throws Exception {
        Path small = tmp.resolve("small");
        Path big = tmp.resolve("big");
        TreeGenerator.generate(small, TreeGenerator.options().seed(11).chunkSize(4096).scale(1));
        TreeGenerator.generate(big, TreeGenerator.options().seed(12).chunkSize(4096).scale(6));
        BuildOptions o = BuildOptions.defaults().withChunkSize(4096);
        for (Path src : List.of(small, big)) {
            new ImageBuilder(o).hashThreads(0).build(src, tmp.resolve(src.getFileName() + ".b0"),
                    tmp.resolve(src.getFileName() + ".blob0"), null);
        }
        try (HashPool pool = new HashPool(2, "test")) {
            java.util.concurrent.ExecutorService layers = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                List<java.util.concurrent.Future<BuildResult>> futures = new ArrayList<>();
                for (Path src : List.of(small, big)) {
                    futures.add(layers.submit(() -> new ImageBuilder(o).hashPool(pool).build(src,
                            tmp.resolve(src.getFileName() + ".bp"), tmp.resolve(src.getFileName() + ".blobp"),
                            null)));
                }
                for (java.util.concurrent.Future<BuildResult> f : futures) {
                    f.get();
                }
            } finally {
                layers.shutdownNow();
            }
            assertThat(pool.activeBuilds()).as("every build left the pool").isZero();
        }
        for (Path src : List.of(small, big)) {
            String n = src.getFileName().toString();
            assertThat(Files.mismatch(tmp.resolve(n + ".b0"), tmp.resolve(n + ".bp"))).as(n + " bootstrap").isEqualTo(-1L);
            assertThat(Files.mismatch(tmp.resolve(n + ".blob0"), tmp.resolve(n + ".blobp"))).as(n + " blob")
                    .isEqualTo(-1L);
        }
    }

    /** A failing build on a shared pool fails alone: the pool keeps serving the other builds. */
    @Test
    @Timeout(30)
    void sinkFailureOnASharedPoolLeavesThePoolUsable() throws Exception {
        byte[] data = new byte[200 * 4096];
        new Random(9).nextBytes(data);
        try (HashPool pool = new HashPool(2, "test")) {
            FailingSink failing = new FailingSink(17);
            try (FileChunker c = new FileChunker(4096, DigestAlgorithm.BLAKE3, null, new ChunkIndex(List.of()),
                    () -> failing, 0, pool)) {
                List<ChunkRef> refs = new ArrayList<>();
                assertThatThrownBy(() -> {
                    c.chunk(new ByteArrayInputStream(data), data.length, "big-file", refs);
                    c.drain();
                }).isInstanceOf(IOException.class).hasMessageContaining("disk full").hasMessageContaining("big-file");
            }
            assertThat(pool.activeBuilds()).isZero();
            FailingSink fine = new FailingSink(Integer.MAX_VALUE);
            try (FileChunker c = new FileChunker(4096, DigestAlgorithm.BLAKE3, null, new ChunkIndex(List.of()),
                    () -> fine, 0, pool)) {
                List<ChunkRef> refs = new ArrayList<>();
                c.chunk(new ByteArrayInputStream(data), data.length, "next-file", refs);
                c.drain();
                assertThat(refs).hasSize(200);
                assertThat(refs).extracting(ChunkRef::fileOffset).isSorted();
            }
        }
    }

    /** A sink that stores nothing and fails on its n-th chunk. */
    private static class FailingSink implements BlobSink {
        private final int failAt;
        private int count;

        FailingSink(int failAt) {
            this.failAt = failAt;
        }

        @Override
        public ChunkInfo addChunk(byte[] buf, int off, int len, byte[] digest) throws IOException {
            if (count == failAt) {
                throw new IOException("disk full (simulated)");
            }
            return new ChunkInfo(count, 0, len, (long) count++ * 4096, len, false, 0);
        }

        @Override
        public int chunkCount() {
            return count;
        }

        @Override
        public BlobInfo sealChunks(boolean inlineBootstrap) {
            throw new UnsupportedOperationException();
        }

        @Override
        public BlobInfo finish(byte[] inlinedBootstrapOrNull) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    @Timeout(30)
    void sinkFailureSurfacesOnTheReaderThreadWithoutHanging() throws Exception {
        long seed = System.nanoTime();
        System.out.println("sinkFailureSurfacesOnTheReaderThreadWithoutHanging seed=" + seed);
        byte[] data = new byte[200 * 4096];
        new Random(seed).nextBytes(data);
        for (int threads : new int[] {0, 1, 3}) {
            FailingSink sink = new FailingSink(17);
            try (FileChunker c = new FileChunker(4096, DigestAlgorithm.SHA256, new ChunkIndex(List.of()), () -> sink,
                    threads)) {
                List<ChunkRef> refs = new ArrayList<>();
                assertThatThrownBy(() -> {
                    c.chunk(new ByteArrayInputStream(data), data.length, "big-file", refs);
                    c.drain();
                }).isInstanceOf(IOException.class).hasMessageContaining("disk full").hasMessageContaining("big-file");
            }
        }
    }

    @Test
    void chunkListsArriveInFileOrder() throws Exception {
        byte[] data = new byte[50 * 4096 + 7];
        new Random(5).nextBytes(data);
        System.arraycopy(data, 0, data, 4096 * 10, 4096); // chunk 10 repeats chunk 0
        List<ChunkInfo> stored = new ArrayList<>();
        BlobSink sink = new FailingSink(Integer.MAX_VALUE) {
        };
        try (FileChunker c = new FileChunker(4096, DigestAlgorithm.BLAKE3, new ChunkIndex(List.of()), () -> sink, 2)) {
            List<ChunkRef> refs = new ArrayList<>();
            c.chunk(new ByteArrayInputStream(data), data.length, "f", refs);
            c.drain();
            assertThat(refs).hasSize(51);
            assertThat(refs).extracting(ChunkRef::fileOffset).isSorted();
            assertThat(refs.get(10).info().index()).isEqualTo(refs.get(0).info().index());
            assertThat(refs.get(11).info().index()).isEqualTo(10);
            assertThat(refs.get(50).info().uncompressedSize()).isEqualTo(7);
            assertThat(c.newChunks()).isEqualTo(50);
            assertThat(c.reusedChunks()).isEqualTo(1);
        }
        assertThat(stored).isEmpty();
    }
}
