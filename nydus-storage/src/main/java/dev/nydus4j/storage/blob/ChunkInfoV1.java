package dev.nydus4j.storage.blob;

import dev.nydus4j.storage.ChunkInfo;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Codec of the 16-byte v1 chunk information entry (RAFS spec 6.4), two little-endian u64 words:
 *
 * <pre>
 * word 0 uncomp_info: bits 0..7 zero | 8..11 bits 20..23 of (usize-1) | 12..43 uncompressed offset
 *                     (4 KiB aligned, the field holds the offset itself) | 44..63 bits 0..19 of (usize-1)
 * word 1 comp_info:   bits 0..39 compressed offset | 40..43 bits 20..23 of (csize-1) | 44..63 bits 0..19 of (csize-1)
 * </pre>
 *
 * A v1 entry has no flags: a chunk is "compressed" iff its two sizes differ, and it cannot carry a CRC.
 */
final class ChunkInfoV1 {
    static final int SIZE = 16;
    static final long MAX_CHUNK_SIZE = 1L << 24;
    static final long MAX_COMPRESSED_OFFSET = (1L << 40) - 1;
    static final long MAX_UNCOMPRESSED_OFFSET = 0x0000_0FFF_FFFF_F000L;

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private ChunkInfoV1() {
    }

    /** Writes {@code c} at {@code dst[off, off+16)}; rejects what v1 cannot represent. */
    static void encode(ChunkInfo c, byte[] dst, int off) {
        long usize = c.uncompressedSize();
        long csize = c.compressedSize();
        if (usize < 1 || usize > MAX_CHUNK_SIZE || csize < 1 || csize > MAX_CHUNK_SIZE) {
            throw new IllegalArgumentException("chunk sizes out of v1 range 1..16 MiB: " + c);
        }
        if ((c.uncompressedOffset() & 0xFFF) != 0 || c.uncompressedOffset() < 0
                || c.uncompressedOffset() > MAX_UNCOMPRESSED_OFFSET) {
            throw new IllegalArgumentException("uncompressed offset not 4 KiB aligned or beyond 16 TiB: " + c);
        }
        if (c.compressedOffset() < 0 || c.compressedOffset() > MAX_COMPRESSED_OFFSET) {
            throw new IllegalArgumentException("compressed offset beyond 1 TiB: " + c);
        }
        if (c.compressed() == (usize == csize)) {
            throw new IllegalArgumentException("v1 infers 'compressed' from differing sizes; cannot encode " + c);
        }
        if (c.crc32c() != 0) {
            throw new IllegalArgumentException("v1 chunk info cannot carry a CRC-32C: " + c);
        }
        long u = usize - 1;
        long k = csize - 1;
        long w0 = ((u & 0xF0_0000L) >>> 12) | c.uncompressedOffset() | ((u & 0xF_FFFFL) << 44);
        long w1 = c.compressedOffset() | ((k & 0xF0_0000L) << 20) | ((k & 0xF_FFFFL) << 44);
        LittleEndian.putLong(dst, off, w0);
        LittleEndian.putLong(dst, off + 8, w1);
    }

    /**
     * Decodes the entry at {@code src[off, off+16)} as chunk {@code index}. Every bit pattern except non-zero
     * reserved bits decodes to sizes in 1..16 MiB; range checks against the blob are the caller's.
     *
     * @return the chunk, or {@code null} when the reserved bits 0..7 of word 0 are set (the caller reports it)
     */
    static ChunkInfo decode(byte[] src, int off, int index) {
        long w0 = (long) LE_LONG.get(src, off);
        long w1 = (long) LE_LONG.get(src, off + 8);
        if ((w0 & 0xFF) != 0) {
            return null;
        }
        long uoff = w0 & MAX_UNCOMPRESSED_OFFSET;
        int usize = (int) (((w0 >>> 44) | ((w0 & 0xF00) << 12)) + 1);
        long coff = w1 & MAX_COMPRESSED_OFFSET;
        int csize = (int) (((w1 >>> 44) | ((w1 >>> 20) & 0xF0_0000L)) + 1);
        return new ChunkInfo(index, coff, csize, uoff, usize, csize != usize, 0);
    }
}
