package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;

import java.nio.ByteBuffer;

/**
 * RAFS v6 extended superblock (spec 3.3), 256 bytes at file offset 1152.
 *
 * <pre>
 * off size field
 *   0  u64 flags (spec 2.2)          32 u64 chunk_table_size
 *   8  u64 blob_table_offset         40 u64 prefetch_table_offset
 *  16  u32 blob_table_size           48 u32 prefetch_table_size
 *  20  u32 chunk_size                52 u32 padding
 *  24  u64 chunk_table_offset        56 [200] reserved
 * </pre>
 */
final class RafsV6ExtSuperBlock extends LeStruct {
    static final int POSITION = ErofsSuperBlock.POSITION + ErofsSuperBlock.SIZE;
    static final int SIZE = 256;

    static final int FLAGS_OFFSET = 0;
    static final int BLOB_TABLE_OFFSET_OFFSET = FLAGS_OFFSET + 8;
    static final int BLOB_TABLE_SIZE_OFFSET = BLOB_TABLE_OFFSET_OFFSET + 8;
    static final int CHUNK_SIZE_OFFSET = BLOB_TABLE_SIZE_OFFSET + 4;
    static final int CHUNK_TABLE_OFFSET_OFFSET = CHUNK_SIZE_OFFSET + 4;
    static final int CHUNK_TABLE_SIZE_OFFSET = CHUNK_TABLE_OFFSET_OFFSET + 8;
    static final int PREFETCH_TABLE_OFFSET_OFFSET = CHUNK_TABLE_SIZE_OFFSET + 8;
    static final int PREFETCH_TABLE_SIZE_OFFSET = PREFETCH_TABLE_OFFSET_OFFSET + 8;
    static final int PADDING_OFFSET = PREFETCH_TABLE_SIZE_OFFSET + 4;
    static final int RESERVED_OFFSET = PADDING_OFFSET + 4;

    static final long FLAG_COMPRESSION_NONE = 0x1;
    static final long FLAG_COMPRESSION_LZ4 = 0x2;
    static final long FLAG_HASH_BLAKE3 = 0x4;
    static final long FLAG_HASH_SHA256 = 0x8;
    static final long FLAG_EXPLICIT_UID_GID = 0x10;
    static final long FLAG_HAS_XATTR = 0x20;
    static final long FLAG_COMPRESSION_GZIP = 0x40;
    static final long FLAG_COMPRESSION_ZSTD = 0x80;
    static final long FLAG_INLINED_CHUNK_DIGEST = 0x100;
    static final long FLAG_TARFS_MODE = 0x200;
    static final long KNOWN_FLAGS = 0x3FFL | 0xFF00_0000L;
    static final long COMPRESSION_BITS = FLAG_COMPRESSION_NONE | FLAG_COMPRESSION_LZ4 | FLAG_COMPRESSION_GZIP
            | FLAG_COMPRESSION_ZSTD;
    static final long HASH_BITS = FLAG_HASH_BLAKE3 | FLAG_HASH_SHA256;

    static final int MIN_CHUNK_SIZE = 4096;
    static final int MAX_CHUNK_SIZE = 16 << 20;

    private RafsV6ExtSuperBlock(ByteBuffer file) {
        super(file, POSITION, SIZE);
    }

    static RafsV6ExtSuperBlock wrap(ByteBuffer file) {
        return new RafsV6ExtSuperBlock(file);
    }

    long flags() { return u64(FLAGS_OFFSET); }
    boolean hasXattrFlag() { return (flags() & FLAG_HAS_XATTR) != 0; }
    long blobTableOffset() { return u64(BLOB_TABLE_OFFSET_OFFSET); }
    long blobTableSize() { return u32(BLOB_TABLE_SIZE_OFFSET); }
    long chunkSize() { return u32(CHUNK_SIZE_OFFSET); }
    long chunkTableOffset() { return u64(CHUNK_TABLE_OFFSET_OFFSET); }
    long chunkTableSize() { return u64(CHUNK_TABLE_SIZE_OFFSET); }
    long prefetchTableOffset() { return u64(PREFETCH_TABLE_OFFSET_OFFSET); }
    long prefetchTableSize() { return u32(PREFETCH_TABLE_SIZE_OFFSET); }

    /** Whether a prefetch table is present ([legacy] a size with offset 0 means none). */
    boolean hasPrefetchTable() {
        return prefetchTableOffset() != 0 && prefetchTableSize() != 0;
    }

    CompressionAlgorithm compressor() {
        long f = flags();
        if ((f & FLAG_COMPRESSION_NONE) != 0) {
            return CompressionAlgorithm.NONE;
        } else if ((f & FLAG_COMPRESSION_LZ4) != 0) {
            return CompressionAlgorithm.LZ4_BLOCK;
        } else if ((f & FLAG_COMPRESSION_GZIP) != 0) {
            return CompressionAlgorithm.GZIP;
        }
        return CompressionAlgorithm.ZSTD;
    }

    DigestAlgorithm digester() {
        return (flags() & FLAG_HASH_SHA256) != 0 ? DigestAlgorithm.SHA256 : DigestAlgorithm.BLAKE3;
    }

    static long compressionFlag(CompressionAlgorithm c) {
        switch (c) {
            case NONE: return FLAG_COMPRESSION_NONE;
            case LZ4_BLOCK: return FLAG_COMPRESSION_LZ4;
            case GZIP: return FLAG_COMPRESSION_GZIP;
            case ZSTD: return FLAG_COMPRESSION_ZSTD;
            default: throw new AssertionError(c);
        }
    }

    static long hashFlag(DigestAlgorithm d) {
        return d == DigestAlgorithm.SHA256 ? FLAG_HASH_SHA256 : FLAG_HASH_BLAKE3;
    }

    /** Checklist 3.16 item 2: flags, chunk size and that every table lies inside the file. */
    void validate(String resource, long fileSize) throws CorruptImageException {
        long f = flags();
        if ((f & ~KNOWN_FLAGS) != 0) {
            throw new CorruptImageException(resource, POSITION + FLAGS_OFFSET, String.format(
                    "flags expected only bits of 0x%x, found 0x%x (unknown 0x%x)", KNOWN_FLAGS, f, f & ~KNOWN_FLAGS));
        }
        if (Long.bitCount(f & COMPRESSION_BITS) != 1 || Long.bitCount(f & HASH_BITS) != 1) {
            throw new CorruptImageException(resource, POSITION + FLAGS_OFFSET, String.format(
                    "flags expected exactly one compression bit and one hash bit, found 0x%x", f));
        }
        if ((f & FLAG_TARFS_MODE) != 0) {
            throw new CorruptImageException(resource, POSITION + FLAGS_OFFSET,
                    "TARFS_MODE images are not supported (flags 0x" + Long.toHexString(f) + ")");
        }
        long cs = chunkSize();
        if (cs < MIN_CHUNK_SIZE || cs > MAX_CHUNK_SIZE || Long.bitCount(cs) != 1) {
            throw new CorruptImageException(resource, POSITION + CHUNK_SIZE_OFFSET,
                    "chunk_size expected a power of two in [4096, 16 MiB], found " + cs);
        }
        checkRange(resource, BLOB_TABLE_OFFSET_OFFSET, "blob table", blobTableOffset(), blobTableSize(),
                BlobTableEntry.SIZE, ErofsSuperBlock.BLOCK_SIZE, fileSize);
        if (blobTableOffset() < ErofsSuperBlock.BLOCK_SIZE) {
            throw new CorruptImageException(resource, POSITION + BLOB_TABLE_OFFSET_OFFSET,
                    "blob_table_offset expected >= 4096, found " + blobTableOffset());
        }
        if (chunkTableOffset() != 0 || chunkTableSize() != 0) {
            checkRange(resource, CHUNK_TABLE_OFFSET_OFFSET, "chunk table", chunkTableOffset(), chunkTableSize(),
                    ChunkRecord.SIZE, ErofsSuperBlock.BLOCK_SIZE, fileSize);
        }
        if (hasPrefetchTable()) {
            checkRange(resource, PREFETCH_TABLE_OFFSET_OFFSET, "prefetch table", prefetchTableOffset(),
                    prefetchTableSize(), 4, 8, fileSize);
        }
    }

    private static void checkRange(String resource, int fieldOff, String what, long off, long size, int unit,
                                   int align, long fileSize) throws CorruptImageException {
        if (off < 0 || off % align != 0 || size < 0 || size % unit != 0 || off > fileSize || size > fileSize - off) {
            throw new CorruptImageException(resource, POSITION + fieldOff, String.format(
                    "%s expected %d-aligned offset and size a multiple of %d inside the file of %d bytes,"
                            + " found offset %d size %d", what, align, unit, fileSize, off, size));
        }
    }

    void writeTo(long flags, long blobTableOffset, long blobTableSize, int chunkSize, long chunkTableOffset,
                 long chunkTableSize, long prefetchTableOffset, long prefetchTableSize) {
        put64(FLAGS_OFFSET, flags);
        put64(BLOB_TABLE_OFFSET_OFFSET, blobTableOffset);
        put32(BLOB_TABLE_SIZE_OFFSET, blobTableSize);
        put32(CHUNK_SIZE_OFFSET, chunkSize);
        put64(CHUNK_TABLE_OFFSET_OFFSET, chunkTableOffset);
        put64(CHUNK_TABLE_SIZE_OFFSET, chunkTableSize);
        put64(PREFETCH_TABLE_OFFSET_OFFSET, prefetchTableOffset);
        put32(PREFETCH_TABLE_SIZE_OFFSET, prefetchTableSize);
    }
}
