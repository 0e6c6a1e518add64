package dev.nydus4j.storage;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.blob.BlobWriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalChunkReaderTest {
    private static final int CHUNK_SIZE = 16384;

    @TempDir
    Path dir;

    private final List<byte[]> chunks = new ArrayList<>();
    private final List<ChunkInfo> infos = new ArrayList<>();
    private BlobInfo blob;
    private Path blobFile;

    @BeforeEach
    void writeBlob() throws IOException {
        long seed = System.nanoTime();
        System.out.println("LocalChunkReaderTest seed " + seed);
        Random rnd = new Random(seed);
        blobFile = dir.resolve("tmp.blob");
        try (OutputStream os = Files.newOutputStream(blobFile)) {
            BlobWriter w = BlobWriter.open(os, CompressionAlgorithm.LZ4_BLOCK, DigestAlgorithm.SHA256, CHUNK_SIZE);
            for (int i = 0; i < 40; i++) {
                byte[] c = new byte[1 + rnd.nextInt(CHUNK_SIZE)];
                for (int j = 0; j < c.length; j++) {
                    c[j] = (byte) (i % 3 == 0 ? rnd.nextInt() : j / 100);
                }
                chunks.add(c);
                infos.add(w.addChunk(c, 0, c.length, DigestAlgorithm.SHA256.digest(c, 0, c.length)));
            }
            blob = w.finish(null);
        }
    }

    @Test
    void directoryLookupByBlobIdAndValidation() throws Exception {
        Files.move(blobFile, dir.resolve(blob.blobId()));
        try (LocalChunkReader r = LocalChunkReader.forDirectory(dir)) {
            byte[] dst = new byte[CHUNK_SIZE];
            r.readChunk(blob, infos.get(5), null, dst);
            assertThat(Arrays.copyOf(dst, chunks.get(5).length)).isEqualTo(chunks.get(5));
            for (String bad : new String[] {"../" + blob.blobId(), "..", "a/b", ""}) {
                BlobInfo b = blob.withIdAndIndex(bad, 0);
                assertThatThrownBy(() -> r.readChunk(b, infos.get(0), null, dst)).as(bad)
                        .isInstanceOf(FileNotFoundException.class);
            }
        }
    }

    @Test
    void crcIsVerifiedWhenRecorded() throws Exception {
        ChunkInfo c = infos.get(1);
        CRC32C crc = new CRC32C();
        crc.update(chunks.get(1));
        ChunkInfo good = new ChunkInfo(c.index(), c.compressedOffset(), c.compressedSize(), c.uncompressedOffset(),
                c.uncompressedSize(), c.compressed(), (int) crc.getValue());
        ChunkInfo bad = new ChunkInfo(c.index(), c.compressedOffset(), c.compressedSize(), c.uncompressedOffset(),
                c.uncompressedSize(), c.compressed(), (int) crc.getValue() ^ 1);
        try (LocalChunkReader r = LocalChunkReader.forFile(blobFile)) {
            byte[] dst = new byte[CHUNK_SIZE];
            r.readChunk(blob, good, null, dst);
            assertThat(Arrays.copyOf(dst, c.uncompressedSize())).isEqualTo(chunks.get(1));
            assertThatThrownBy(() -> r.readChunk(blob, bad, null, dst)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("CRC-32C").hasMessageContaining("chunk 1").hasMessageContaining(blob.blobId());
        }
    }

    @Test
    void wrongDigestAndWrongSizesAreCorruption() throws Exception {
        try (LocalChunkReader r = LocalChunkReader.forFile(blobFile)) {
            byte[] dst = new byte[CHUNK_SIZE];
            ChunkInfo c = infos.get(2);
            assertThatThrownBy(() -> r.readChunk(blob, c, new byte[32], dst)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("sha256 digest");
            ChunkInfo longer = new ChunkInfo(c.index(), c.compressedOffset(), c.compressedSize(),
                    c.uncompressedOffset(), c.uncompressedSize() + 1, c.compressed(), 0);
            assertThatThrownBy(() -> r.readChunk(blob, longer, null, dst)).isInstanceOf(CorruptImageException.class);
            ChunkInfo beyond = new ChunkInfo(c.index(), blob.ciOffset() - 512 - 3, 4, 0, 4, false, 0);
            assertThatThrownBy(() -> r.readChunk(blob, beyond, null, dst)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("chunk data end");
            assertThatThrownBy(() -> r.readChunk(blob, infos.get(0), null, new byte[1]))
                    .isInstanceOf(CorruptImageException.class);
        }
    }

    @Test
    void concurrentReadersShareChannelsAndSurviveInterrupts() throws Exception {
        try (LocalChunkReader r = LocalChunkReader.forFile(blobFile)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int start = t;
                    futures.add(pool.submit(() -> {
                        byte[] dst = new byte[CHUNK_SIZE];
                        for (int round = 0; round < 20; round++) {
                            for (int i = start; i < chunks.size(); i += 4) {
                                byte[] c = chunks.get(i);
                                r.readChunk(blob, infos.get(i), DigestAlgorithm.SHA256.digest(c, 0, c.length), dst);
                                assertThat(Arrays.copyOf(dst, c.length)).isEqualTo(c);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            // An interrupted reader closes the shared FileChannel; later reads reopen it.
            Thread.currentThread().interrupt();
            try {
                r.readChunk(blob, infos.get(0), null, new byte[CHUNK_SIZE]);
            } catch (IOException expected) {
                // ClosedByInterruptException
            } finally {
                Thread.interrupted();
            }
            byte[] dst = new byte[CHUNK_SIZE];
            r.readChunk(blob, infos.get(3), null, dst);
            assertThat(Arrays.copyOf(dst, chunks.get(3).length)).isEqualTo(chunks.get(3));
        }
    }

    @Test
    void closedReaderRefusesReads() throws Exception {
        LocalChunkReader r = LocalChunkReader.forFile(blobFile);
        r.readChunk(blob, infos.get(0), null, new byte[CHUNK_SIZE]);
        r.close();
        assertThatThrownBy(() -> r.readChunk(blob, infos.get(0), null, new byte[CHUNK_SIZE]))
                .isInstanceOf(IOException.class).hasMessageContaining("closed");
        r.close();
    }
}
