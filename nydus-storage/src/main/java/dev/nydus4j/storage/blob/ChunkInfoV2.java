package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Decoder of the 24-byte v2 chunk information entry (RAFS spec 6.5), three little-endian u64 words:
 *
 * <pre>
 * word 0 uncomp_info: bits 0..31 uncompressed offset / 4096 | 32..55 usize-1 | 56..63 flags
 *                     (0x01 COMPRESSED, 0x02 ZRAN, 0x04 BATCH, 0x08 ENCRYPTED, 0x10 HAS_CRC32)
 * word 1 comp_info:   bits 0..39 compressed offset | 40..63 compressed size (exact)
 * word 2 data:        HAS_CRC32: bits 0..31 CRC-32C (non-zero); ZRAN/BATCH: context index + offset
 * </pre>
 *
 * ZRAN, BATCH and ENCRYPTED chunks are rejected: their data cannot be read as a plain chunk.
 */
final class ChunkInfoV2 {
    static final int SIZE = 24;

    static final int FLAG_COMPRESSED = 0x01;
    static final int FLAG_ZRAN = 0x02;
    static final int FLAG_BATCH = 0x04;
    static final int FLAG_ENCRYPTED = 0x08;
    static final int FLAG_HAS_CRC32 = 0x10;

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private ChunkInfoV2() {
    }

    /**
     * Decodes the entry at {@code src[off, off+24)} as chunk {@code index}.
     *
     * @param resource   names the blob for error messages
     * @param fileOffset position of the entry in the uncompressed chunk information array, for error messages
     */
    static ChunkInfo decode(byte[] src, int off, int index, String resource, long fileOffset)
            throws CorruptImageException {
        long w0 = (long) LE_LONG.get(src, off);
        long w1 = (long) LE_LONG.get(src, off + 8);
        long w2 = (long) LE_LONG.get(src, off + 16);
        int flags = (int) (w0 >>> 56);
        if ((flags & ~0x1F) != 0) {
            throw new CorruptImageException(resource, fileOffset,
                    "chunk " + index + ": unknown v2 chunk flags 0x" + Integer.toHexString(flags));
        }
        if ((flags & (FLAG_ZRAN | FLAG_BATCH | FLAG_ENCRYPTED)) != 0) {
            throw new CorruptImageException(resource, fileOffset,
                    "chunk " + index + ": unsupported v2 chunk kind (flags 0x" + Integer.toHexString(flags)
                            + "): ZRAN, BATCH and ENCRYPTED chunks are not readable by nydus4j");
        }
        long uoff = (w0 & 0xFFFF_FFFFL) << 12;
        int usize = (int) (((w0 >>> 32) & 0xFF_FFFFL) + 1);
        long coff = w1 & ((1L << 40) - 1);
        int csize = (int) (w1 >>> 40);
        boolean compressed = (flags & FLAG_COMPRESSED) != 0;
        if (csize == 0) {
            throw new CorruptImageException(resource, fileOffset, "chunk " + index + ": compressed size 0");
        }
        if (!compressed && csize != usize) {
            throw new CorruptImageException(resource, fileOffset, "chunk " + index + ": not compressed but stored size "
                    + csize + " vs uncompressed size " + usize);
        }
        int crc = 0;
        if ((flags & FLAG_HAS_CRC32) != 0) {
            crc = (int) w2;
            if (crc == 0) {
                throw new CorruptImageException(resource, fileOffset, "chunk " + index + ": HAS_CRC32 with CRC 0");
            }
        }
        return new ChunkInfo(index, coff, csize, uoff, usize, compressed, crc);
    }
}
