package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** BlobWriter → BlobFile → LocalChunkReader for every compressor × digester. */
class BlobWriterRoundTripTest {
    private static final int CHUNK_SIZE = 64 * 1024;

    @TempDir
    Path dir;

    static Stream<Arguments> algorithms() {
        List<Arguments> out = new ArrayList<>();
        for (CompressionAlgorithm c : List.of(CompressionAlgorithm.NONE, CompressionAlgorithm.LZ4_BLOCK,
                CompressionAlgorithm.ZSTD)) {
            for (DigestAlgorithm d : DigestAlgorithm.values()) {
                out.add(Arguments.of(c, d));
            }
        }
        return out.stream();
    }

    /** Chunks of 1 byte, exactly 4096, the chunk size, random sizes; compressible and incompressible. */
    static List<byte[]> sampleChunks(Random rnd) {
        List<byte[]> chunks = new ArrayList<>();
        chunks.add(new byte[] {42});
        chunks.add(text(rnd, 4096));
        chunks.add(random(rnd, 4096));
        chunks.add(text(rnd, CHUNK_SIZE));
        chunks.add(random(rnd, CHUNK_SIZE));
        chunks.add(new byte[CHUNK_SIZE]);
        for (int i = 0; i < 12; i++) {
            int len = 1 + rnd.nextInt(CHUNK_SIZE);
            chunks.add(rnd.nextBoolean() ? text(rnd, len) : random(rnd, len));
        }
        return chunks;
    }

    static byte[] random(Random rnd, int len) {
        byte[] b = new byte[len];
        rnd.nextBytes(b);
        return b;
    }

    static byte[] text(Random rnd, int len) {
        String[] words = {"nydus ", "rafs ", "chunk ", "blob ", "erofs ", "image ", "\n"};
        byte[] b = new byte[len];
        int i = 0;
        while (i < len) {
            byte[] w = words[rnd.nextInt(words.length)].getBytes();
            int n = Math.min(w.length, len - i);
            System.arraycopy(w, 0, b, i, n);
            i += n;
        }
        return b;
    }

    @ParameterizedTest
    @MethodSource("algorithms")
    void roundTrip(CompressionAlgorithm compressor, DigestAlgorithm digester) throws Exception {
        long seed = System.nanoTime();
        System.out.println("BlobWriterRoundTripTest " + compressor + "/" + digester + " seed " + seed);
        Random rnd = new Random(seed);
        List<byte[]> chunks = sampleChunks(rnd);
        byte[] bootstrap = rnd.nextBoolean() ? text(rnd, 3 * 4096) : null;

        Path blobPath = dir.resolve("blob.tmp");
        List<ChunkInfo> written = new ArrayList<>();
        BlobInfo sealed;
        BlobInfo done;
        try (OutputStream os = Files.newOutputStream(blobPath)) {
            BlobWriter w = BlobWriter.open(os, compressor, digester, CHUNK_SIZE);
            for (byte[] c : chunks) {
                written.add(w.addChunk(c, 0, c.length, digester.digest(c, 0, c.length)));
            }
            assertThat(w.chunkCount()).isEqualTo(chunks.size());
            sealed = w.sealChunks(bootstrap != null);
            done = w.finish(bootstrap);
        }
        byte[] file = Files.readAllBytes(blobPath);
        assertThat(done.blobId()).as("seed %d", seed)
                .isEqualTo(HexFormat.of().formatHex(BlobWriter.sha256(file, 0, file.length)));
        assertThat(done.compressedSize()).isEqualTo(file.length);
        assertThat(sealed.blobId()).isEqualTo(BlobWriter.PLACEHOLDER_BLOB_ID);
        assertThat(done.chunkCount()).isEqualTo(chunks.size());
        assertThat(done.compressionAlgo()).isEqualTo(compressor.id());
        assertThat(done.digestAlgo()).isEqualTo(digester.id());
        int expectedFeatures = BlobWriter.BASE_FEATURES | (bootstrap != null ? BlobInfo.FEATURE_INLINED_FS_META : 0);
        assertThat(done.features()).isEqualTo(expectedFeatures);
        assertThat(sealed.features()).isEqualTo(expectedFeatures);
        assertThat(done.ciOffset()).isEqualTo(sealed.ciOffset());
        assertThat(done.ciCompressedSize()).isEqualTo(sealed.ciCompressedSize());
        assertThat(done.uncompressedSize()).isEqualTo(sealed.uncompressedSize());

        // Writer rules: data back to back, uncompressed offsets consecutive and 4 KiB aligned, raw unless smaller.
        long coff = 0;
        long uoff = 0;
        for (int i = 0; i < written.size(); i++) {
            ChunkInfo c = written.get(i);
            assertThat(c.index()).isEqualTo(i);
            assertThat(c.compressedOffset()).isEqualTo(coff);
            assertThat(c.uncompressedOffset()).isEqualTo(uoff);
            assertThat(c.uncompressedSize()).isEqualTo(chunks.get(i).length);
            assertThat(c.compressed()).isEqualTo(c.compressedSize() < c.uncompressedSize());
            if (compressor == CompressionAlgorithm.NONE) {
                assertThat(c.compressed()).isFalse();
            }
            coff += c.compressedSize();
            uoff = (uoff + c.uncompressedSize() + 4095) & ~4095L;
        }
        assertThat(done.uncompressedSize()).isEqualTo(uoff);
        assertThat(done.ciOffset()).isEqualTo(coff + 512);
        if (compressor == CompressionAlgorithm.ZSTD) {
            assertThat(written.get(3).compressed()).as("text chunk compresses").isTrue();
            assertThat(written.get(4).compressed()).as("random chunk stored raw").isFalse();
        }

        try (BlobFile f = BlobFile.open(blobPath)) {
            f.verifyToc();
            assertThat(f.tocSize()).isEqualTo(done.tocSize());
            assertThat(f.tocDigest()).isEqualTo(done.tocDigest());
            assertThat(f.chunkInfos(done)).isEqualTo(written);
            assertThat(f.chunkInfos(sealed)).isEqualTo(written);
            byte[][] digests = f.chunkDigests();
            assertThat(digests).hasNumberOfRows(chunks.size());
            for (int i = 0; i < chunks.size(); i++) {
                assertThat(digests[i]).isEqualTo(digester.digest(chunks.get(i), 0, chunks.get(i).length));
            }
            if (bootstrap != null) {
                assertThat(f.inlinedBootstrap()).hasValue(bootstrap);
                assertThat(f.sections()).extracting(BlobFile.Section::name).containsExactly("image.blob",
                        "blob.meta", "blob.digest", "image.boot", "rafs.blob.toc");
            } else {
                assertThat(f.inlinedBootstrap()).isEmpty();
                assertThat(f.sections()).extracting(BlobFile.Section::name).containsExactly("image.blob",
                        "blob.meta", "blob.digest", "rafs.blob.toc");
            }
            BlobMetaHeader h = f.metaHeader().orElseThrow();
            assertThat(h).isEqualTo(BlobMetaHeader.of(sealed));
            byte[] cache = f.blobMetaCacheBytes(done);
            assertThat(cache.length % 4096).isZero();
            assertThat(Arrays.copyOfRange(cache, cache.length - 4096, cache.length)).isEqualTo(h.encode());
        }

        Path blobDir = Files.createDirectory(dir.resolve("blobs"));
        Files.move(blobPath, blobDir.resolve(done.blobId()));
        try (LocalChunkReader r = LocalChunkReader.forDirectory(blobDir)) {
            byte[] dst = new byte[CHUNK_SIZE];
            for (int i = 0; i < chunks.size(); i++) {
                Arrays.fill(dst, (byte) 0x5a);
                byte[] c = chunks.get(i);
                r.readChunk(done, written.get(i), digester.digest(c, 0, c.length), dst);
                assertThat(Arrays.copyOf(dst, c.length)).as("chunk %d seed %d", i, seed).isEqualTo(c);
            }
            BlobInfo other = done.withIdAndIndex("0".repeat(64), 1);
            assertThatThrownBy(() -> r.readChunk(other, written.get(0), null, dst))
                    .isInstanceOf(FileNotFoundException.class).hasMessageContaining("0".repeat(64));
        }
    }

    @Test
    void emptyBlobIsValid() throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BlobWriter w = BlobWriter.open(bos, CompressionAlgorithm.ZSTD, DigestAlgorithm.BLAKE3, 1 << 20);
        BlobInfo done = w.finish(null);
        Path p = dir.resolve("empty");
        Files.write(p, bos.toByteArray());
        assertThat(done.chunkCount()).isZero();
        assertThat(done.uncompressedSize()).isZero();
        assertThat(done.ciOffset()).isEqualTo(512);
        assertThat(done.ciCompressor()).isZero();
        try (BlobFile f = BlobFile.open(p)) {
            f.verifyToc();
            assertThat(f.chunkInfos(done)).isEmpty();
            assertThat(f.chunkDigests()).isEmpty();
            assertThat(f.sections()).extracting(BlobFile.Section::dataOffset).startsWith(0L);
        }
    }

    @Test
    void chunkInfoArrayIsCompressedWhenSmaller() throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BlobWriter w = BlobWriter.open(bos, CompressionAlgorithm.ZSTD, DigestAlgorithm.SHA256, 4096);
        byte[] c = new byte[4096];
        for (int i = 0; i < 500; i++) {
            c[0] = (byte) i;
            c[1] = (byte) (i >> 8);
            w.addChunk(c, 0, c.length, DigestAlgorithm.SHA256.digest(c, 0, c.length));
        }
        BlobInfo done = w.finish(null);
        assertThat(done.ciCompressor()).isEqualTo(CompressionAlgorithm.ZSTD.id());
        assertThat(done.ciCompressedSize()).isLessThan(done.ciUncompressedSize());
        assertThat(done.ciUncompressedSize()).isEqualTo(500 * 16);
        Path p = dir.resolve("many");
        Files.write(p, bos.toByteArray());
        try (BlobFile f = BlobFile.open(p)) {
            f.verifyToc();
            List<ChunkInfo> infos = f.chunkInfos(done);
            assertThat(infos).hasSize(500);
            assertThat(infos.get(499).uncompressedOffset()).isEqualTo(499L * 4096);
        }
    }

    @Test
    void verifyAgainstChecksSizeAndTocOfTheFinalEntry() throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BlobWriter w = BlobWriter.open(bos, CompressionAlgorithm.LZ4_BLOCK, DigestAlgorithm.BLAKE3, 4096);
        byte[] c = text(new Random(3), 3000);
        w.addChunk(c, 0, c.length, DigestAlgorithm.BLAKE3.digest(c, 0, c.length));
        BlobInfo sealed = w.sealChunks(true);
        byte[] boot = text(new Random(4), 8192);
        BlobInfo done = w.finish(boot);
        Path p = dir.resolve("v");
        Files.write(p, bos.toByteArray());
        try (BlobFile f = BlobFile.open(p)) {
            f.verifyAgainst(done);
            f.verifyAgainst(sealed);
            assertThat(f.inlinedBootstrap()).hasValue(boot);
            byte[] otherDigest = done.tocDigest().clone();
            otherDigest[0] ^= 1;
            BlobInfo wrongToc = new BlobInfo(done.blobId(), 0, done.chunkSize(), done.chunkCount(),
                    done.compressionAlgo(), done.digestAlgo(), done.features(), done.compressedSize(),
                    done.uncompressedSize(), done.tocSize(), done.ciCompressor(), done.ciOffset(),
                    done.ciCompressedSize(), done.ciUncompressedSize(), otherDigest, new byte[32], 0);
            assertThatThrownBy(() -> f.verifyAgainst(wrongToc)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("ToC SHA-256");
            assertThatThrownBy(() -> f.chunkInfos(wrongToc)).isInstanceOf(CorruptImageException.class);
            BlobInfo wrongSize = new BlobInfo(done.blobId(), 0, done.chunkSize(), done.chunkCount(),
                    done.compressionAlgo(), done.digestAlgo(), done.features(), done.compressedSize() + 1,
                    done.uncompressedSize(), done.tocSize(), done.ciCompressor(), done.ciOffset(),
                    done.ciCompressedSize(), done.ciUncompressedSize(), done.tocDigest(), new byte[32], 0);
            assertThatThrownBy(() -> f.verifyAgainst(wrongSize)).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("blob file size");
        }
    }

    @Test
    void largestChunksRoundTrip() throws Exception {
        int max = 16 << 20;
        Random rnd = new Random(7);
        byte[] incompressible = random(rnd, max);
        byte[] compressible = text(rnd, max);
        Path p = dir.resolve("large");
        BlobInfo done;
        List<ChunkInfo> infos = new ArrayList<>();
        try (OutputStream os = Files.newOutputStream(p)) {
            BlobWriter w = BlobWriter.open(os, CompressionAlgorithm.ZSTD, DigestAlgorithm.BLAKE3, max);
            for (byte[] c : List.of(incompressible, compressible)) {
                infos.add(w.addChunk(c, 0, c.length, DigestAlgorithm.BLAKE3.digest(c, 0, c.length)));
            }
            done = w.finish(null);
        }
        assertThat(infos.get(0).compressed()).isFalse();
        assertThat(infos.get(0).compressedSize()).isEqualTo(max);
        assertThat(infos.get(1).compressed()).isTrue();
        assertThat(infos.get(1).uncompressedOffset()).isEqualTo(max);
        try (BlobFile f = BlobFile.open(p); LocalChunkReader r = LocalChunkReader.forFile(p)) {
            assertThat(f.chunkInfos(done)).isEqualTo(infos);
            byte[] dst = new byte[max];
            r.readChunk(done, infos.get(0), f.chunkDigests()[0], dst);
            assertThat(Arrays.equals(dst, incompressible)).isTrue();
            r.readChunk(done, infos.get(1), f.chunkDigests()[1], dst);
            assertThat(Arrays.equals(dst, compressible)).isTrue();
        }
    }

    @Test
    void writerRejectsMisuse() throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        assertThatThrownBy(() -> BlobWriter.open(bos, CompressionAlgorithm.NONE, DigestAlgorithm.BLAKE3, 3000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BlobWriter.open(bos, CompressionAlgorithm.GZIP, DigestAlgorithm.BLAKE3, 4096))
                .isInstanceOf(IllegalArgumentException.class);
        BlobWriter w = BlobWriter.open(bos, CompressionAlgorithm.NONE, DigestAlgorithm.BLAKE3, 4096);
        assertThatThrownBy(() -> w.addChunk(new byte[4097], 0, 4097, new byte[32]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addChunk(new byte[1], 0, 0, new byte[32]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addChunk(new byte[1], 0, 1, new byte[31]))
                .isInstanceOf(IllegalArgumentException.class);
        w.addChunk(new byte[1], 0, 1, new byte[32]);
        w.sealChunks();
        assertThatThrownBy(() -> w.addChunk(new byte[1], 0, 1, new byte[32])).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(w::sealChunks).isInstanceOf(IllegalStateException.class);
        w.finish(null);
        assertThatThrownBy(() -> w.finish(null)).isInstanceOf(IllegalStateException.class);
    }
}
