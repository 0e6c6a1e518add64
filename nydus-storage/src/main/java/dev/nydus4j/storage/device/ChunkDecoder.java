package dev.nydus4j.storage.device;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Turns the stored bytes of one chunk into its plain bytes: decompress with the blob's algorithm and verify the
 * CRC-32C (when recorded) and the digest (when asked). Stateless and thread-safe.
 */
public final class ChunkDecoder {
    private ChunkDecoder() {
    }

    /**
     * Decodes {@code stored[off, off+info.compressedSize())} into {@code dst[0, info.uncompressedSize())}.
     *
     * @param expectedDigest digest to verify with the blob's digest algorithm, or null to skip
     * @throws CorruptImageException naming blob, chunk index and offset when bytes do not decode or verify
     */
    public static void decode(BlobInfo blob, ChunkInfo info, byte[] stored, int off, byte[] expectedDigest, byte[] dst)
            throws CorruptImageException {
        String where = resource(blob, info);
        int plain = info.uncompressedSize();
        if (dst.length < plain) {
            throw new IllegalArgumentException("buffer of " + dst.length + " bytes for a chunk of " + plain);
        }
        if (info.compressed()) {
            CompressionAlgorithm.fromId(blob.compressionAlgo())
                    .decompress(stored, off, info.compressedSize(), dst, 0, plain, where);
        } else {
            if (info.compressedSize() != plain) {
                throw new CorruptImageException(where, info.compressedOffset(), "uncompressed chunk stores "
                        + info.compressedSize() + " bytes, expected " + plain);
            }
            System.arraycopy(stored, off, dst, 0, plain);
        }
        verify(blob, info, dst, expectedDigest);
    }

    /** Verifies plain chunk bytes (CRC-32C when recorded; digest when given). */
    public static void verify(BlobInfo blob, ChunkInfo info, byte[] plain, byte[] expectedDigest)
            throws CorruptImageException {
        int n = info.uncompressedSize();
        if (info.crc32c() != 0) {
            CRC32C crc = new CRC32C();
            crc.update(plain, 0, n);
            if ((int) crc.getValue() != info.crc32c()) {
                throw new CorruptImageException(resource(blob, info), info.compressedOffset(), String.format(
                        "chunk CRC-32C mismatch: stored %08x, computed %08x", info.crc32c(), (int) crc.getValue()));
            }
        }
        if (expectedDigest != null) {
            byte[] actual = DigestAlgorithm.fromId(blob.digestAlgo()).digest(plain, 0, n);
            if (!MessageDigest.isEqual(actual, expectedDigest)) {
                throw new CorruptImageException(resource(blob, info), info.compressedOffset(),
                        "chunk digest mismatch: expected " + HexFormat.of().formatHex(expectedDigest) + ", computed "
                                + HexFormat.of().formatHex(actual));
            }
        }
    }

    static String resource(BlobInfo blob, ChunkInfo info) {
        return "blob " + blob.blobId() + " chunk " + info.index();
    }
}
