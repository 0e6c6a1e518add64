package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The 4096-byte blob.meta header that follows the stored chunk information array (RAFS spec 6.3).
 *
 * <pre>
 * off  size field
 *    0  u32 magic                0xB10BB10B
 *    4  u32 features             blob features (spec 2.3)
 *    8  u32 ci_compressor        algorithm id of the stored array
 *   12  u32 ci_entries           = chunk count
 *   16  u64 ci_offset
 *   24  u64 ci_compressed_size
 *   32  u64 ci_uncompressed_size
 *   40  u64 zran_offset          BATCH/ZRAN only
 *   48  u64 zran_size
 *   56  u32 zran_count
 *   60 [4032] reserved           zeros
 * 4092  u32 magic2               0xB10BB10B
 * </pre>
 *
 * @param features           blob features
 * @param ciCompressor       algorithm id of the stored chunk information array
 * @param ciEntries          number of entries
 * @param ciOffset           blob offset of the stored array
 * @param ciCompressedSize   stored size
 * @param ciUncompressedSize plain size
 * @param zranOffset         context table offset (BATCH/ZRAN)
 * @param zranSize           context table size
 * @param zranCount          number of contexts
 */
public record BlobMetaHeader(int features, int ciCompressor, int ciEntries, long ciOffset, long ciCompressedSize,
                             long ciUncompressedSize, long zranOffset, long zranSize, int zranCount) {

    public static final int SIZE = 4096;
    public static final int MAGIC = 0xB10BB10B;

    private static final int MAGIC_OFFSET = 0;
    private static final int FEATURES_OFFSET = 4;
    private static final int CI_COMPRESSOR_OFFSET = 8;
    private static final int CI_ENTRIES_OFFSET = 12;
    private static final int CI_OFFSET_OFFSET = 16;
    private static final int CI_COMPRESSED_SIZE_OFFSET = 24;
    private static final int CI_UNCOMPRESSED_SIZE_OFFSET = 32;
    private static final int ZRAN_OFFSET_OFFSET = 40;
    private static final int ZRAN_SIZE_OFFSET = 48;
    private static final int ZRAN_COUNT_OFFSET = 56;
    private static final int MAGIC2_OFFSET = 4092;

    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** The header of a blob described by {@code blob} (v1 or v2 without contexts). */
    public static BlobMetaHeader of(BlobInfo blob) {
        return new BlobMetaHeader(blob.features(), blob.ciCompressor(), blob.chunkCount(), blob.ciOffset(),
                blob.ciCompressedSize(), blob.ciUncompressedSize(), 0, 0, 0);
    }

    /** This header with INLINED_FS_META cleared (what {@link BlobWriter#sealChunks()} records). */
    public BlobMetaHeader withoutFsMeta() {
        return new BlobMetaHeader(features & ~BlobInfo.FEATURE_INLINED_FS_META, ciCompressor, ciEntries, ciOffset,
                ciCompressedSize, ciUncompressedSize, zranOffset, zranSize, zranCount);
    }

    public byte[] encode() {
        byte[] h = new byte[SIZE];
        LittleEndian.putInt(h, MAGIC_OFFSET, MAGIC);
        LittleEndian.putInt(h, FEATURES_OFFSET, features);
        LittleEndian.putInt(h, CI_COMPRESSOR_OFFSET, ciCompressor);
        LittleEndian.putInt(h, CI_ENTRIES_OFFSET, ciEntries);
        LittleEndian.putLong(h, CI_OFFSET_OFFSET, ciOffset);
        LittleEndian.putLong(h, CI_COMPRESSED_SIZE_OFFSET, ciCompressedSize);
        LittleEndian.putLong(h, CI_UNCOMPRESSED_SIZE_OFFSET, ciUncompressedSize);
        LittleEndian.putLong(h, ZRAN_OFFSET_OFFSET, zranOffset);
        LittleEndian.putLong(h, ZRAN_SIZE_OFFSET, zranSize);
        LittleEndian.putInt(h, ZRAN_COUNT_OFFSET, zranCount);
        LittleEndian.putInt(h, MAGIC2_OFFSET, MAGIC);
        return h;
    }

    /**
     * Parses the header at {@code buf[off, off+4096)}, checking both magics.
     *
     * @param fileOffset where the header sits, for error messages
     */
    public static BlobMetaHeader parse(byte[] buf, int off, String resource, long fileOffset)
            throws CorruptImageException {
        if (buf.length - off < SIZE) {
            throw new CorruptImageException(resource, fileOffset, "blob.meta header truncated: "
                    + (buf.length - off) + " bytes vs expected " + SIZE);
        }
        int magic = (int) LE_INT.get(buf, off + MAGIC_OFFSET);
        int magic2 = (int) LE_INT.get(buf, off + MAGIC2_OFFSET);
        if (magic != MAGIC || magic2 != MAGIC) {
            throw new CorruptImageException(resource, fileOffset, String.format(
                    "blob.meta header magic 0x%08x/0x%08x vs expected 0x%08x", magic, magic2, MAGIC));
        }
        return new BlobMetaHeader((int) LE_INT.get(buf, off + FEATURES_OFFSET),
                (int) LE_INT.get(buf, off + CI_COMPRESSOR_OFFSET), (int) LE_INT.get(buf, off + CI_ENTRIES_OFFSET),
                (long) LE_LONG.get(buf, off + CI_OFFSET_OFFSET), (long) LE_LONG.get(buf, off + CI_COMPRESSED_SIZE_OFFSET),
                (long) LE_LONG.get(buf, off + CI_UNCOMPRESSED_SIZE_OFFSET),
                (long) LE_LONG.get(buf, off + ZRAN_OFFSET_OFFSET), (long) LE_LONG.get(buf, off + ZRAN_SIZE_OFFSET),
                (int) LE_INT.get(buf, off + ZRAN_COUNT_OFFSET));
    }

    /**
     * nydusd's acceptance rule: ci_entries, ci_compressor, ci_offset and both ci sizes equal the blob table
     * values. Features are not compared (upstream does not either; INLINED_FS_META may be added later).
     */
    public void validateAgainst(BlobInfo blob, String resource, long fileOffset) throws CorruptImageException {
        check(ciEntries == blob.chunkCount(), "ci_entries", ciEntries, blob.chunkCount(), resource, fileOffset);
        check(ciCompressor == blob.ciCompressor(), "ci_compressor", ciCompressor, blob.ciCompressor(), resource,
                fileOffset);
        check(ciOffset == blob.ciOffset(), "ci_offset", ciOffset, blob.ciOffset(), resource, fileOffset);
        check(ciCompressedSize == blob.ciCompressedSize(), "ci_compressed_size", ciCompressedSize,
                blob.ciCompressedSize(), resource, fileOffset);
        check(ciUncompressedSize == blob.ciUncompressedSize(), "ci_uncompressed_size", ciUncompressedSize,
                blob.ciUncompressedSize(), resource, fileOffset);
    }

    private static void check(boolean ok, String field, long actual, long expected, String resource, long fileOffset)
            throws CorruptImageException {
        if (!ok) {
            throw new CorruptImageException(resource, fileOffset,
                    "blob.meta header " + field + " " + actual + " vs blob table " + expected);
        }
    }
}
