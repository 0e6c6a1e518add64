package dev.nydus4j.rafs.v5;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 80-byte RAFS chunk record (RAFS spec 5.7; the v6 chunk table uses the same layout). Package-private v5
 * copy until it is unified with the v6 codec.
 *
 * <pre>
 * off  size  field
 *   0  [32]  block_id (chunk digest)
 *  32  u32   blob_index
 *  36  u32   flags (0x1 COMPRESSED, 0x2 hole, 0x4 ENCRYPTED, 0x8 BATCH, 0x10 HAS_CRC32)
 *  40  u32   compressed_size
 *  44  u32   uncompressed_size
 *  48  u64   compressed_offset
 *  56  u64   uncompressed_offset
 *  64  u64   file_offset
 *  72  u32   index
 *  76  u32   crc32
 * </pre>
 * A flyweight: {@link #at} repositions it; not thread-safe.
 */
final class RafsV5ChunkRecord {
    static final int SIZE = 80;
    static final int BLOCK_ID_OFFSET = 0;
    static final int BLOB_INDEX_OFFSET = BLOCK_ID_OFFSET + 32;
    static final int FLAGS_OFFSET = BLOB_INDEX_OFFSET + 4;
    static final int COMPRESSED_SIZE_OFFSET = FLAGS_OFFSET + 4;
    static final int UNCOMPRESSED_SIZE_OFFSET = COMPRESSED_SIZE_OFFSET + 4;
    static final int COMPRESSED_OFFSET_OFFSET = UNCOMPRESSED_SIZE_OFFSET + 4;
    static final int UNCOMPRESSED_OFFSET_OFFSET = COMPRESSED_OFFSET_OFFSET + 8;
    static final int FILE_OFFSET_OFFSET = UNCOMPRESSED_OFFSET_OFFSET + 8;
    static final int INDEX_OFFSET = FILE_OFFSET_OFFSET + 8;
    static final int CRC32_OFFSET = INDEX_OFFSET + 4;

    static final int FLAG_COMPRESSED = 0x1;
    static final int FLAG_HOLE = 0x2;
    static final int FLAG_ENCRYPTED = 0x4;
    static final int FLAG_BATCH = 0x8;
    static final int FLAG_HAS_CRC32 = 0x10;
    static final int KNOWN_FLAGS = 0x1F;

    private final ByteBuffer buf;
    private int base;

    RafsV5ChunkRecord(ByteBuffer image) {
        this.buf = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    RafsV5ChunkRecord at(int offset) {
        this.base = offset;
        return this;
    }

    byte[] blockId() {
        byte[] d = new byte[32];
        buf.get(base + BLOCK_ID_OFFSET, d);
        return d;
    }

    long blobIndex() {
        return Integer.toUnsignedLong(buf.getInt(base + BLOB_INDEX_OFFSET));
    }

    int flags() {
        return buf.getInt(base + FLAGS_OFFSET);
    }

    long compressedSize() {
        return Integer.toUnsignedLong(buf.getInt(base + COMPRESSED_SIZE_OFFSET));
    }

    long uncompressedSize() {
        return Integer.toUnsignedLong(buf.getInt(base + UNCOMPRESSED_SIZE_OFFSET));
    }

    long compressedOffset() {
        return buf.getLong(base + COMPRESSED_OFFSET_OFFSET);
    }

    long uncompressedOffset() {
        return buf.getLong(base + UNCOMPRESSED_OFFSET_OFFSET);
    }

    long fileOffset() {
        return buf.getLong(base + FILE_OFFSET_OFFSET);
    }

    long index() {
        return Integer.toUnsignedLong(buf.getInt(base + INDEX_OFFSET));
    }

    int crc32() {
        return buf.getInt(base + CRC32_OFFSET);
    }
}
