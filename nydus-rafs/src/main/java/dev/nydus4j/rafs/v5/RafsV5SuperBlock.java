package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * RAFS v5 superblock (RAFS spec 5.2), a flyweight over the first 8192 bytes of a bootstrap.
 *
 * <pre>
 * off  size  field
 *   0  u32   magic 0x52414653 ("SFAR" little endian)
 *   4  u32   fs_version 0x500
 *   8  u32   sb_size 8192
 *  12  u32   block_size (chunk size)
 *  16  u64   flags (spec 2.2)
 *  24  u64   inodes_count
 *  32  u64   inode_table_offset
 *  40  u64   prefetch_table_offset
 *  48  u64   blob_table_offset
 *  56  u32   inode_table_entries
 *  60  u32   prefetch_table_entries
 *  64  u32   blob_table_size
 *  68  u32   extended_blob_table_entries
 *  72  u64   extended_blob_table_offset
 *  80  [8112] reserved
 * </pre>
 * Immutable view; thread-safe as long as nobody writes to the wrapped buffer.
 */
final class RafsV5SuperBlock {
    static final int MAGIC = 0x52414653;
    static final int VERSION = 0x500;
    static final int SIZE = 8192;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + 4;
    static final int SB_SIZE_OFFSET = VERSION_OFFSET + 4;
    static final int BLOCK_SIZE_OFFSET = SB_SIZE_OFFSET + 4;
    static final int FLAGS_OFFSET = BLOCK_SIZE_OFFSET + 4;
    static final int INODES_COUNT_OFFSET = FLAGS_OFFSET + 8;
    static final int INODE_TABLE_OFFSET_OFFSET = INODES_COUNT_OFFSET + 8;
    static final int PREFETCH_TABLE_OFFSET_OFFSET = INODE_TABLE_OFFSET_OFFSET + 8;
    static final int BLOB_TABLE_OFFSET_OFFSET = PREFETCH_TABLE_OFFSET_OFFSET + 8;
    static final int INODE_TABLE_ENTRIES_OFFSET = BLOB_TABLE_OFFSET_OFFSET + 8;
    static final int PREFETCH_TABLE_ENTRIES_OFFSET = INODE_TABLE_ENTRIES_OFFSET + 4;
    static final int BLOB_TABLE_SIZE_OFFSET = PREFETCH_TABLE_ENTRIES_OFFSET + 4;
    static final int EXT_BLOB_TABLE_ENTRIES_OFFSET = BLOB_TABLE_SIZE_OFFSET + 4;
    static final int EXT_BLOB_TABLE_OFFSET_OFFSET = EXT_BLOB_TABLE_ENTRIES_OFFSET + 4;
    static final int RESERVED_OFFSET = EXT_BLOB_TABLE_OFFSET_OFFSET + 8;

    static final long FLAG_COMPRESSION_NONE = 0x1;
    static final long FLAG_COMPRESSION_LZ4 = 0x2;
    static final long FLAG_HASH_BLAKE3 = 0x4;
    static final long FLAG_HASH_SHA256 = 0x8;
    static final long FLAG_EXPLICIT_UID_GID = 0x10;
    static final long FLAG_HAS_XATTR = 0x20;
    static final long FLAG_COMPRESSION_GZIP = 0x40;
    static final long FLAG_COMPRESSION_ZSTD = 0x80;
    /** Every bit a reader accepts (spec 2.2); the 0xFF00_0000 bits are reserved-compatible. */
    static final long KNOWN_FLAGS = 0x3FFL | 0xFF00_0000L;

    private final ByteBuffer buf;

    private RafsV5SuperBlock(ByteBuffer buf) {
        this.buf = buf;
    }

    /** Wraps the superblock at the start of {@code image} (no validation). */
    static RafsV5SuperBlock wrap(ByteBuffer image) {
        return new RafsV5SuperBlock(image.duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    /** True when the bootstrap starts with the v5 magic. */
    static boolean hasMagic(ByteBuffer image) {
        return image.remaining() >= 4 && image.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(0) == MAGIC;
    }

    int magic() {
        return buf.getInt(MAGIC_OFFSET);
    }

    int version() {
        return buf.getInt(VERSION_OFFSET);
    }

    int sbSize() {
        return buf.getInt(SB_SIZE_OFFSET);
    }

    int blockSize() {
        return buf.getInt(BLOCK_SIZE_OFFSET);
    }

    long flags() {
        return buf.getLong(FLAGS_OFFSET);
    }

    long inodesCount() {
        return buf.getLong(INODES_COUNT_OFFSET);
    }

    long inodeTableOffset() {
        return buf.getLong(INODE_TABLE_OFFSET_OFFSET);
    }

    long prefetchTableOffset() {
        return buf.getLong(PREFETCH_TABLE_OFFSET_OFFSET);
    }

    long blobTableOffset() {
        return buf.getLong(BLOB_TABLE_OFFSET_OFFSET);
    }

    long inodeTableEntries() {
        return Integer.toUnsignedLong(buf.getInt(INODE_TABLE_ENTRIES_OFFSET));
    }

    long prefetchTableEntries() {
        return Integer.toUnsignedLong(buf.getInt(PREFETCH_TABLE_ENTRIES_OFFSET));
    }

    long blobTableSize() {
        return Integer.toUnsignedLong(buf.getInt(BLOB_TABLE_SIZE_OFFSET));
    }

    long extBlobTableEntries() {
        return Integer.toUnsignedLong(buf.getInt(EXT_BLOB_TABLE_ENTRIES_OFFSET));
    }

    long extBlobTableOffset() {
        return buf.getLong(EXT_BLOB_TABLE_OFFSET_OFFSET);
    }

    boolean explicitUidGid() {
        return (flags() & FLAG_EXPLICIT_UID_GID) != 0;
    }

    boolean hasXattrFlag() {
        return (flags() & FLAG_HAS_XATTR) != 0;
    }

    /** Chunk compressor with the legacy v5 precedence: none > lz4 > gzip > zstd; no bit means lz4_block. */
    CompressionAlgorithm compressor() {
        long f = flags();
        if ((f & FLAG_COMPRESSION_NONE) != 0) {
            return CompressionAlgorithm.NONE;
        }
        if ((f & FLAG_COMPRESSION_LZ4) != 0) {
            return CompressionAlgorithm.LZ4_BLOCK;
        }
        if ((f & FLAG_COMPRESSION_GZIP) != 0) {
            return CompressionAlgorithm.GZIP;
        }
        if ((f & FLAG_COMPRESSION_ZSTD) != 0) {
            return CompressionAlgorithm.ZSTD;
        }
        return CompressionAlgorithm.LZ4_BLOCK;
    }

    /** Digest algorithm with the legacy precedence blake3 > sha256; no bit means blake3. */
    DigestAlgorithm digester() {
        long f = flags();
        if ((f & FLAG_HASH_BLAKE3) != 0) {
            return DigestAlgorithm.BLAKE3;
        }
        if ((f & FLAG_HASH_SHA256) != 0) {
            return DigestAlgorithm.SHA256;
        }
        return DigestAlgorithm.BLAKE3;
    }

    /**
     * Checks magic, version, sizes, flags, chunk size and that every table lies inside the file, is 8-aligned and
     * does not overlap another table (spec 5.2 [R]).
     */
    void validate(String resource, long fileSize) throws CorruptImageException {
        if (magic() != MAGIC) {
            throw new CorruptImageException(resource, MAGIC_OFFSET,
                    String.format("bad RAFS v5 magic: expected 0x%08x, found 0x%08x", MAGIC, magic()));
        }
        if (version() != VERSION) {
            throw new CorruptImageException(resource, VERSION_OFFSET,
                    String.format("bad RAFS v5 version: expected 0x%x, found 0x%x", VERSION, version()));
        }
        if (sbSize() != SIZE) {
            throw new CorruptImageException(resource, SB_SIZE_OFFSET,
                    "bad superblock size: expected " + SIZE + ", found " + Integer.toUnsignedString(sbSize()));
        }
        if (fileSize <= SIZE || fileSize % 8 != 0 || fileSize >= (1L << 31)) {
            throw new CorruptImageException(resource, -1,
                    "bad bootstrap size " + fileSize + ": expected a multiple of 8 above " + SIZE + " and below 2 GiB");
        }
        int bs = blockSize();
        boolean pow2 = bs > 0 && Integer.bitCount(bs) == 1;
        if (!pow2 || bs < 4096 || bs > (16 << 20)) {
            throw new CorruptImageException(resource, BLOCK_SIZE_OFFSET,
                    "bad chunk size " + Integer.toUnsignedString(bs) + ": expected a power of two in [4096, 16 MiB]");
        }
        long unknown = flags() & ~KNOWN_FLAGS;
        if (unknown != 0) {
            throw new CorruptImageException(resource, FLAGS_OFFSET,
                    String.format("unknown superblock flag bits 0x%x in flags 0x%x", unknown, flags()));
        }
        for (int off = RESERVED_OFFSET; off < SIZE; off += 8) {
            if (buf.getLong(off) != 0) {
                throw new CorruptImageException(resource, off, "superblock reserved bytes are not zero");
            }
        }
        long entries = inodeTableEntries();
        if (entries == 0) {
            throw new CorruptImageException(resource, INODE_TABLE_ENTRIES_OFFSET, "inode table has no entries: expected at least the root");
        }
        if (Long.compareUnsigned(inodesCount(), entries) > 0) {
            throw new CorruptImageException(resource, INODES_COUNT_OFFSET,
                    "inodes_count " + Long.toUnsignedString(inodesCount()) + " exceeds inode_table_entries " + entries);
        }
        long[][] ranges = {
                checkRange(resource, fileSize, "inode table", INODE_TABLE_OFFSET_OFFSET, inodeTableOffset(), entries * 4),
                checkRange(resource, fileSize, "prefetch table", PREFETCH_TABLE_OFFSET_OFFSET, prefetchTableOffset(),
                        prefetchTableEntries() * 4),
                checkRange(resource, fileSize, "blob table", BLOB_TABLE_OFFSET_OFFSET, blobTableOffset(), blobTableSize()),
                checkRange(resource, fileSize, "extended blob table", EXT_BLOB_TABLE_OFFSET_OFFSET, extBlobTableOffset(),
                        extBlobTableEntries() * RafsV5BlobTable.EXT_ENTRY_SIZE),
        };
        String[] names = {"inode table", "prefetch table", "blob table", "extended blob table"};
        for (int i = 0; i < ranges.length; i++) {
            for (int j = i + 1; j < ranges.length; j++) {
                if (overlaps(ranges[i], ranges[j])) {
                    throw new CorruptImageException(resource, ranges[j][0],
                            names[j] + " [" + ranges[j][0] + ", " + ranges[j][1] + ") overlaps " + names[i]
                                    + " [" + ranges[i][0] + ", " + ranges[i][1] + ")");
                }
            }
        }
    }

    /** Bounds of the tables as [start, end) pairs (valid after {@link #validate}). */
    long tablesEnd() {
        long end = inodeTableOffset() + inodeTableEntries() * 4;
        end = Math.max(end, prefetchTableOffset() + prefetchTableEntries() * 4);
        end = Math.max(end, blobTableOffset() + blobTableSize());
        end = Math.max(end, extBlobTableOffset() + extBlobTableEntries() * RafsV5BlobTable.EXT_ENTRY_SIZE);
        return end;
    }

    private static boolean overlaps(long[] a, long[] b) {
        return a[1] > a[0] && b[1] > b[0] && a[0] < b[1] && b[0] < a[1];
    }

    private static long[] checkRange(String resource, long fileSize, String what, int field, long start, long len)
            throws CorruptImageException {
        if (len == 0) {
            // an empty table has no bytes; its offset is informational (upstream points it at the next table)
            return new long[]{0, 0};
        }
        if (start < SIZE || start % 8 != 0 || start >= fileSize || len > fileSize - start) {
            throw new CorruptImageException(resource, field,
                    what + " [" + Long.toUnsignedString(start) + ", +" + len + ") is not an 8-aligned range inside [" + SIZE
                            + ", " + fileSize + ")");
        }
        return new long[]{start, start + len};
    }

    /** The flags a writer sets for these settings (spec 2.2 [W]): one compression bit, one hash bit. */
    static long flagsFor(CompressionAlgorithm compressor, DigestAlgorithm digester, boolean explicitUidGid,
                         boolean hasXattr) {
        long f = switch (compressor) {
            case NONE -> FLAG_COMPRESSION_NONE;
            case LZ4_BLOCK -> FLAG_COMPRESSION_LZ4;
            case GZIP -> FLAG_COMPRESSION_GZIP;
            case ZSTD -> FLAG_COMPRESSION_ZSTD;
        };
        f |= digester == DigestAlgorithm.SHA256 ? FLAG_HASH_SHA256 : FLAG_HASH_BLAKE3;
        if (explicitUidGid) {
            f |= FLAG_EXPLICIT_UID_GID;
        }
        if (hasXattr) {
            f |= FLAG_HAS_XATTR;
        }
        return f;
    }

    /** Writes the superblock fields into a zeroed buffer (reserved bytes stay zero). */
    static void writeTo(ByteBuffer file, int chunkSize, long flags, long inodesCount, int inodeTableEntries,
                        long prefetchTableOffset, int prefetchTableEntries, long blobTableOffset, int blobTableSize,
                        long extBlobTableOffset, int extBlobTableEntries) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC);
        b.putInt(VERSION_OFFSET, VERSION);
        b.putInt(SB_SIZE_OFFSET, SIZE);
        b.putInt(BLOCK_SIZE_OFFSET, chunkSize);
        b.putLong(FLAGS_OFFSET, flags);
        b.putLong(INODES_COUNT_OFFSET, inodesCount);
        b.putLong(INODE_TABLE_OFFSET_OFFSET, SIZE);
        b.putLong(PREFETCH_TABLE_OFFSET_OFFSET, prefetchTableOffset);
        b.putLong(BLOB_TABLE_OFFSET_OFFSET, blobTableOffset);
        b.putInt(INODE_TABLE_ENTRIES_OFFSET, inodeTableEntries);
        b.putInt(PREFETCH_TABLE_ENTRIES_OFFSET, prefetchTableEntries);
        b.putInt(BLOB_TABLE_SIZE_OFFSET, blobTableSize);
        b.putInt(EXT_BLOB_TABLE_ENTRIES_OFFSET, extBlobTableEntries);
        b.putLong(EXT_BLOB_TABLE_OFFSET_OFFSET, extBlobTableOffset);
    }
}
