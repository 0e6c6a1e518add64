package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;

/**
 * RAFS v6 chunk address = EROFS chunk index entry (spec 3.12), 8 bytes.
 *
 * <pre>
 * off size field
 *   0  u16 c_blob_addr_lo: chunk index bits 0..15      (EROFS "advise", ignored by the kernel)
 *   2  u16 c_blob_addr_hi: low byte blob index + 1,    (EROFS device id)
 *                          high byte chunk index bits 16..23
 *   4  u32 c_blk_addr: uncompressed offset in the blob / 4096
 * </pre>
 */
final class ChunkAddress extends LeStruct {
    static final int SIZE = 8;
    static final int BLOB_ADDR_LO_OFFSET = 0;
    static final int BLOB_ADDR_HI_OFFSET = BLOB_ADDR_LO_OFFSET + 2;
    static final int BLK_ADDR_OFFSET = BLOB_ADDR_HI_OFFSET + 2;

    static final int MAX_CHUNK_INDEX = (1 << 24) - 1;
    /** EROFS "null address" (hole); never used by RAFS. */
    static final long HOLE_BLKADDR = 0xFFFF_FFFFL;

    /** Chunk format word (inode i_u of chunk-based files): bit 5 = 8-byte indexes, bits 0..4 = chunkbits. */
    static final int CHUNK_FORMAT_INDEXES = 0x20;
    static final int CHUNK_FORMAT_BLKBITS_MASK = 0x1F;

    private ChunkAddress(ByteBuffer buf, int base) {
        super(buf, base, SIZE);
    }

    static ChunkAddress wrap(ByteBuffer buf, int base) {
        return new ChunkAddress(buf, base);
    }

    /** Blob index, or -1 when the stored blob index + 1 is 0 (invalid). */
    int blobIndex() { return (u16(BLOB_ADDR_HI_OFFSET) & 0xFF) - 1; }

    int chunkIndex() { return ((u16(BLOB_ADDR_HI_OFFSET) >> 8) << 16) | u16(BLOB_ADDR_LO_OFFSET); }

    long blkAddr() { return u32(BLK_ADDR_OFFSET); }

    void writeTo(int blobIndex, int chunkIndex, long blkAddr) {
        put16(BLOB_ADDR_LO_OFFSET, chunkIndex & 0xFFFF);
        put16(BLOB_ADDR_HI_OFFSET, ((chunkIndex >>> 16) << 8) | (blobIndex + 1));
        put32(BLK_ADDR_OFFSET, blkAddr);
    }
}
