package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 80-byte RAFS chunk record (spec 5.7): an entry of the v6 bootstrap chunk table (3.15) and the per-chunk
 * record of v5 regular-file inodes. Public so that the v5 reader can reuse the codec. Instances are views over a
 * buffer: not thread-safe when written.
 *
 * <pre>
 * off size field
 *   0 [32] block_id: chunk digest
 *  32  u32 blob_index
 *  36  u32 flags: 0x1 COMPRESSED, 0x2 hole (legacy), 0x4 ENCRYPTED, 0x8 BATCH, 0x10 HAS_CRC32
 *  40  u32 compressed_size
 *  44  u32 uncompressed_size
 *  48  u64 compressed_offset
 *  56  u64 uncompressed_offset
 *  64  u64 file_offset
 *  72  u32 index: chunk index inside its blob
 *  76  u32 crc32: CRC-32C of the plain bytes when HAS_CRC32
 * </pre>
 */
public final class ChunkRecord {
    public static final int SIZE = 80;

    public static final int BLOCK_ID_OFFSET = 0;
    public static final int DIGEST_SIZE = 32;
    public static final int BLOB_INDEX_OFFSET = BLOCK_ID_OFFSET + DIGEST_SIZE;
    public static final int FLAGS_OFFSET = BLOB_INDEX_OFFSET + 4;
    public static final int COMPRESSED_SIZE_OFFSET = FLAGS_OFFSET + 4;
    public static final int UNCOMPRESSED_SIZE_OFFSET = COMPRESSED_SIZE_OFFSET + 4;
    public static final int COMPRESSED_OFFSET_OFFSET = UNCOMPRESSED_SIZE_OFFSET + 4;
    public static final int UNCOMPRESSED_OFFSET_OFFSET = COMPRESSED_OFFSET_OFFSET + 8;
    public static final int FILE_OFFSET_OFFSET = UNCOMPRESSED_OFFSET_OFFSET + 8;
    public static final int INDEX_OFFSET = FILE_OFFSET_OFFSET + 8;
    public static final int CRC32_OFFSET = INDEX_OFFSET + 4;

    public static final int FLAG_COMPRESSED = 0x01;
    public static final int FLAG_HOLE = 0x02;
    public static final int FLAG_ENCRYPTED = 0x04;
    public static final int FLAG_BATCH = 0x08;
    public static final int FLAG_HAS_CRC32 = 0x10;
    public static final int KNOWN_FLAGS = 0x1F;
    /** Largest plain chunk (the maximum chunk size). */
    public static final int MAX_UNCOMPRESSED_SIZE = 16 << 20;

    private final ByteBuffer buf;
    private final int base;

    private ChunkRecord(ByteBuffer buf, int base) {
        if (base < 0 || base > buf.limit() - SIZE) {
            throw new IndexOutOfBoundsException("chunk record at " + base + " does not fit a buffer of "
                    + buf.limit() + " bytes");
        }
        // only absolute accesses are made, so a little-endian buffer is shared rather than duplicated per record
        this.buf = buf.order() == ByteOrder.LITTLE_ENDIAN ? buf : buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.base = base;
    }

    /** View of the record at absolute position {@code base} of {@code buf} (byte order is forced little-endian). */
    public static ChunkRecord wrap(ByteBuffer buf, int base) {
        return new ChunkRecord(buf, base);
    }

    /** Offset of the record in its buffer. */
    public int position() {
        return base;
    }

    public byte[] digest() {
        byte[] d = new byte[DIGEST_SIZE];
        buf.get(base + BLOCK_ID_OFFSET, d);
        return d;
    }

    public long blobIndex() { return buf.getInt(base + BLOB_INDEX_OFFSET) & 0xFFFF_FFFFL; }
    public int flags() { return buf.getInt(base + FLAGS_OFFSET); }
    public long compressedSize() { return buf.getInt(base + COMPRESSED_SIZE_OFFSET) & 0xFFFF_FFFFL; }
    public long uncompressedSize() { return buf.getInt(base + UNCOMPRESSED_SIZE_OFFSET) & 0xFFFF_FFFFL; }
    public long compressedOffset() { return buf.getLong(base + COMPRESSED_OFFSET_OFFSET); }
    public long uncompressedOffset() { return buf.getLong(base + UNCOMPRESSED_OFFSET_OFFSET); }
    public long fileOffset() { return buf.getLong(base + FILE_OFFSET_OFFSET); }
    public long index() { return buf.getInt(base + INDEX_OFFSET) & 0xFFFF_FFFFL; }
    public int crc32() { return buf.getInt(base + CRC32_OFFSET); }

    public boolean isCompressed() {
        return (flags() & FLAG_COMPRESSED) != 0;
    }

    /**
     * Format-level checks that need no context: known flag bits, no encrypted/batch chunks, sizes within 16 MiB,
     * non-negative offsets, not-compressed chunks with equal sizes, crc32 zero unless HAS_CRC32.
     *
     * @param resource file the record was read from (for the message); the offset reported is {@link #position()}
     *                 plus {@code fileBase}
     */
    public void validate(String resource, long fileBase) throws CorruptImageException {
        long at = fileBase + base;
        int f = flags();
        long usize = uncompressedSize();
        long csize = compressedSize();
        if ((f & ~KNOWN_FLAGS) != 0) {
            throw new CorruptImageException(resource, at + FLAGS_OFFSET, String.format(
                    "chunk flags expected only bits 0x1f, found 0x%x", f));
        }
        if ((f & (FLAG_ENCRYPTED | FLAG_BATCH)) != 0) {
            throw new CorruptImageException(resource, at + FLAGS_OFFSET, String.format(
                    "encrypted or batch chunks are not supported (flags 0x%x)", f));
        }
        if (usize == 0 || usize > MAX_UNCOMPRESSED_SIZE) {
            throw new CorruptImageException(resource, at + UNCOMPRESSED_SIZE_OFFSET,
                    "chunk uncompressed_size expected 1..16 MiB, found " + usize);
        }
        if (csize == 0 || csize > MAX_UNCOMPRESSED_SIZE * 2L) {
            throw new CorruptImageException(resource, at + COMPRESSED_SIZE_OFFSET,
                    "chunk compressed_size expected 1..32 MiB, found " + csize);
        }
        if ((f & FLAG_COMPRESSED) == 0 && csize != usize) {
            throw new CorruptImageException(resource, at + COMPRESSED_SIZE_OFFSET, "not-compressed chunk"
                    + " compressed_size expected = uncompressed_size " + usize + ", found " + csize);
        }
        if ((compressedOffset() | uncompressedOffset() | fileOffset()) < 0) {
            throw new CorruptImageException(resource, at + COMPRESSED_OFFSET_OFFSET,
                    "chunk offsets expected < 2^63, found negative");
        }
        if ((f & FLAG_HAS_CRC32) == 0 && crc32() != 0) {
            throw new CorruptImageException(resource, at + CRC32_OFFSET, String.format(
                    "chunk crc32 expected 0 without HAS_CRC32, found 0x%08x", crc32()));
        }
    }

    /** The location part as a {@link ChunkInfo} (crc32c 0 unless HAS_CRC32). */
    public ChunkInfo toChunkInfo() {
        return new ChunkInfo((int) index(), compressedOffset(), (int) compressedSize(), uncompressedOffset(),
                (int) uncompressedSize(), isCompressed(), (flags() & FLAG_HAS_CRC32) != 0 ? crc32() : 0);
    }

    /**
     * Writes a record. The COMPRESSED flag comes from {@code info.compressed()}; HAS_CRC32 is set when
     * {@code info.crc32c() != 0} (a recorded CRC of exactly 0 is indistinguishable from "not recorded").
     */
    public void writeFrom(byte[] digest, int blobIndex, ChunkInfo info, long fileOffset) {
        if (digest.length != DIGEST_SIZE) {
            throw new IllegalArgumentException("chunk digest must be 32 bytes, got " + digest.length);
        }
        buf.put(base + BLOCK_ID_OFFSET, digest);
        buf.putInt(base + BLOB_INDEX_OFFSET, blobIndex);
        int flags = (info.compressed() ? FLAG_COMPRESSED : 0) | (info.crc32c() != 0 ? FLAG_HAS_CRC32 : 0);
        buf.putInt(base + FLAGS_OFFSET, flags);
        buf.putInt(base + COMPRESSED_SIZE_OFFSET, info.compressedSize());
        buf.putInt(base + UNCOMPRESSED_SIZE_OFFSET, info.uncompressedSize());
        buf.putLong(base + COMPRESSED_OFFSET_OFFSET, info.compressedOffset());
        buf.putLong(base + UNCOMPRESSED_OFFSET_OFFSET, info.uncompressedOffset());
        buf.putLong(base + FILE_OFFSET_OFFSET, fileOffset);
        buf.putInt(base + INDEX_OFFSET, info.index());
        buf.putInt(base + CRC32_OFFSET, info.crc32c());
    }
}
