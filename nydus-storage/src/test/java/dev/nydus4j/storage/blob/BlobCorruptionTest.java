package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Truncated blobs and single bit flips anywhere in the trailer (tar headers, blob.meta, blob.digest, image.boot,
 * ToC) and in chunk data: every operation either returns exactly the right answer or throws
 * {@link CorruptImageException}; never another exception type, never wrong bytes.
 */
class BlobCorruptionTest {
    private static final DigestAlgorithm DIGESTER = DigestAlgorithm.BLAKE3;
    private static final long SEED = System.nanoTime();

    private static byte[] pristine;
    private static BlobInfo info;
    private static List<ChunkInfo> written;
    private static List<byte[]> chunks;
    private static byte[] bootstrap;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeBlob() throws Exception {
        System.out.println("BlobCorruptionTest seed " + SEED);
        Random rnd = new Random(SEED);
        chunks = new ArrayList<>();
        chunks.add(BlobWriterRoundTripTest.text(rnd, 5000));
        chunks.add(BlobWriterRoundTripTest.random(rnd, 3000));
        chunks.add(BlobWriterRoundTripTest.text(rnd, 8192));
        chunks.add(new byte[] {7});
        bootstrap = BlobWriterRoundTripTest.text(rnd, 4096);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BlobWriter w = BlobWriter.open(bos, CompressionAlgorithm.ZSTD, DIGESTER, 8192);
        written = new ArrayList<>();
        for (byte[] c : chunks) {
            written.add(w.addChunk(c, 0, c.length, DIGESTER.digest(c, 0, c.length)));
        }
        info = w.finish(bootstrap);
        pristine = bos.toByteArray();
    }

    /** Runs every read operation; returns how many detected corruption. */
    private int exercise(byte[] blob, String what) throws Exception {
        Path p = dir.resolve("blob");
        Files.write(p, blob);
        int detected = 0;
        BlobFile f;
        try {
            f = BlobFile.open(p);
        } catch (CorruptImageException e) {
            return 1;
        } catch (Exception e) {
            throw new AssertionError(what + ": open threw " + e, e);
        }
        try (f) {
            List<Op> ops = List.of(
                    () -> {
                        f.verifyToc();
                        return null;
                    },
                    () -> assertThat(f.chunkInfos(info)).as(what).isEqualTo(written),
                    () -> assertThat(f.chunkInfos()).as(what).isEqualTo(written),
                    () -> {
                        byte[][] d = f.chunkDigests();
                        if (d.length != 0 || blob.length == pristine.length) {
                            assertThat(d.length).as(what + " digest count").isEqualTo(chunks.size());
                            for (int i = 0; i < chunks.size(); i++) {
                                assertThat(d[i]).as(what).isEqualTo(DIGESTER.digest(chunks.get(i), 0,
                                        chunks.get(i).length));
                            }
                        }
                        return null;
                    },
                    () -> {
                        Optional<byte[]> b = f.inlinedBootstrap();
                        if (b.isPresent() || blob.length == pristine.length) {
                            assertThat(b.isPresent() && Arrays.equals(b.get(), bootstrap)).as(what + " bootstrap")
                                    .isTrue();
                        }
                        return null;
                    },
                    () -> {
                        Optional<BlobMetaHeader> h = f.metaHeader();
                        if (h.isPresent() || blob.length == pristine.length) {
                            assertThat(h).as(what).hasValue(BlobMetaHeader.of(info));
                        }
                        return null;
                    },
                    () -> {
                        byte[] cache = f.blobMetaCacheBytes(info);
                        assertThat(Arrays.equals(Arrays.copyOfRange(cache, 4096, 8192),
                                BlobMetaHeader.of(info).encode())).as(what + " cache header").isTrue();
                        return null;
                    },
                    () -> {
                        try (LocalChunkReader r = LocalChunkReader.forFile(p)) {
                            byte[] dst = new byte[8192];
                            for (int i = 0; i < chunks.size(); i++) {
                                byte[] c = chunks.get(i);
                                try {
                                    r.readChunk(info, written.get(i), DIGESTER.digest(c, 0, c.length), dst);
                                    assertThat(Arrays.equals(Arrays.copyOf(dst, c.length), c)).as(what + " chunk " + i)
                                            .isTrue();
                                } catch (CorruptImageException e) {
                                    assertThat(e.getMessage()).contains("chunk " + i);
                                    throw e;
                                }
                            }
                        }
                        return null;
                    });
            for (Op op : ops) {
                try {
                    op.run();
                } catch (CorruptImageException e) {
                    assertThat(e.resource()).as(what).isNotBlank();
                    detected++;
                } catch (AssertionError e) {
                    throw e;
                } catch (Exception e) {
                    throw new AssertionError(what + " (seed " + SEED + "): threw " + e, e);
                }
            }
        }
        return detected;
    }

    @FunctionalInterface
    interface Op {
        Object run() throws Exception;
    }

    @Test
    void pristineBlobPassesEverything() throws Exception {
        assertThat(exercise(pristine, "pristine")).isZero();
    }

    /**
     * Trailer positions worth a full check: every byte of the tar headers, the ToC, the chunk info and digest
     * arrays, the structured start and the end magic of the blob.meta header, and the bytes around every
     * section boundary; every 13th byte elsewhere (reserved zeros, compressed bootstrap) to keep the test fast.
     */
    private static boolean dense(int pos) throws Exception {
        for (long[] r : denseRanges()) {
            if (pos >= r[0] && pos < r[1]) {
                return true;
            }
        }
        return pos % 13 == 0;
    }

    private static List<long[]> dense;

    private static synchronized List<long[]> denseRanges() throws Exception {
        if (dense == null) {
            Path tmp = Files.createTempFile("pristine", ".blob");
            try {
                Files.write(tmp, pristine);
                List<long[]> ranges = new ArrayList<>();
                try (BlobFile f = BlobFile.open(tmp)) {
                    for (BlobFile.Section sec : f.sections()) {
                        ranges.add(new long[] {sec.headerOffset(), sec.headerOffset() + 512});
                        ranges.add(new long[] {sec.dataOffset() - 3, sec.dataOffset() + 3});
                        if (!sec.name().equals("image.boot") && !sec.name().equals("image.blob")) {
                            long end = sec.name().equals("blob.meta") ? sec.dataOffset() + info.ciCompressedSize() + 64
                                    : sec.headerOffset();
                            ranges.add(new long[] {sec.dataOffset(), end});
                        }
                    }
                }
                ranges.add(new long[] {info.ciOffset() + info.ciCompressedSize() + 4092,
                    info.ciOffset() + info.ciCompressedSize() + 4096});
                dense = ranges;
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return dense;
    }

    @Test
    void truncatedBlobs() throws Exception {
        int chunkDataEnd = (int) (info.ciOffset() - 512);
        for (int len = pristine.length - 1; len >= 0; len--) {
            if (len < chunkDataEnd ? len % 97 != 0 : !dense(len)) {
                continue;
            }
            int detected = exercise(Arrays.copyOf(pristine, len), "truncated to " + len);
            assertThat(detected).as("truncated to %d is noticed", len).isPositive();
        }
    }

    @Test
    void bitFlipsInTheTrailerAreDetectedOrHarmless() throws Exception {
        Random rnd = new Random(SEED);
        int chunkDataEnd = (int) (info.ciOffset() - 512);
        int harmless = 0;
        int tried = 0;
        for (int pos = chunkDataEnd; pos < pristine.length; pos++) {
            if (!dense(pos)) {
                continue;
            }
            byte[] b = pristine.clone();
            b[pos] ^= (byte) (1 << rnd.nextInt(8));
            tried++;
            if (exercise(b, "bit flip at " + pos) == 0) {
                harmless++;
            }
        }
        // Harmless flips: ignored reserved bytes of the ToC entries, and the tar checksum terminator.
        assertThat(harmless).isLessThan(tried / 3);
    }

    @Test
    void bitFlipsInChunkDataNeverYieldWrongBytes() throws Exception {
        Random rnd = new Random(SEED + 1);
        int chunkDataEnd = (int) (info.ciOffset() - 512);
        for (int pos = 0; pos < chunkDataEnd; pos += 1 + rnd.nextInt(13)) {
            byte[] b = pristine.clone();
            b[pos] ^= (byte) (1 << rnd.nextInt(8));
            int detected = exercise(b, "chunk data bit flip at " + pos);
            assertThat(detected).as("flip at %d noticed", pos).isPositive();
        }
    }

    @Test
    void flippedChunkInfoCompressedOffsetIsRejectedByTheReader() throws Exception {
        Path p = dir.resolve("blob2");
        Files.write(p, pristine);
        ChunkInfo c = written.get(0);
        ChunkInfo bad = new ChunkInfo(c.index(), c.compressedOffset() + 1L << 30, c.compressedSize(),
                c.uncompressedOffset(), c.uncompressedSize(), c.compressed(), 0);
        try (LocalChunkReader r = LocalChunkReader.forFile(p)) {
            try {
                r.readChunk(info, bad, null, new byte[8192]);
                fail("expected CorruptImageException");
            } catch (CorruptImageException e) {
                assertThat(e.getMessage()).contains("chunk 0").contains(info.blobId());
            }
        }
    }
}
