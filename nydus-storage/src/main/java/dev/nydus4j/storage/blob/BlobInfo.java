package dev.nydus4j.storage.blob;

/**
 * One data blob as described by a RAFS v6 blob table entry (RAFS spec 3.5) or a v5 blob table + extended
 * blob table entry. Immutable.
 *
 * @param blobId             64 lowercase hex chars (normally sha256 of the blob file)
 * @param blobIndex          position in the blob table
 * @param chunkSize          filesystem chunk size
 * @param chunkCount         number of chunks in the blob's chunk information array
 * @param compressionAlgo    algorithm id of chunk data (spec 2.1)
 * @param digestAlgo         algorithm id of chunk digests (0 blake3, 1 sha256)
 * @param features           blob feature bits (spec 2.3)
 * @param compressedSize     size of the blob file (CAP_TAR_TOC) or of its chunk data (legacy)
 * @param uncompressedSize   end of the 4 KiB-aligned uncompressed space
 * @param tocSize            ToC size including its tar header, 0 if unknown
 * @param ciCompressor       algorithm id of the stored chunk information array
 * @param ciOffset           blob offset of the stored chunk information array
 * @param ciCompressedSize   stored size of the chunk information array
 * @param ciUncompressedSize plain size of the chunk information array
 * @param tocDigest          sha256 of the ToC including tar header (32 zero bytes if not recorded)
 * @param metaDigest         blob_meta_digest (32 bytes; zeros normally)
 * @param metaSize           blob_meta_size (0 normally)
 */
public record BlobInfo(String blobId, int blobIndex, int chunkSize, int chunkCount, int compressionAlgo,
                       int digestAlgo, int features, long compressedSize, long uncompressedSize, int tocSize,
                       int ciCompressor, long ciOffset, long ciCompressedSize, long ciUncompressedSize,
                       byte[] tocDigest, byte[] metaDigest, long metaSize) {

    public static final int FEATURE_ALIGNED = 0x1;
    public static final int FEATURE_INLINED_FS_META = 0x2;
    public static final int FEATURE_CHUNK_INFO_V2 = 0x4;
    public static final int FEATURE_ZRAN = 0x8;
    public static final int FEATURE_SEPARATE = 0x10;
    public static final int FEATURE_INLINED_CHUNK_DIGEST = 0x20;
    public static final int FEATURE_TARFS = 0x40;
    public static final int FEATURE_BATCH = 0x80;
    public static final int FEATURE_ENCRYPTED = 0x100;
    public static final int FEATURE_HAS_TAR_HEADER = 0x1000_0000;
    public static final int FEATURE_HAS_TOC = 0x2000_0000;
    public static final int FEATURE_CAP_TAR_TOC = 0x4000_0000;

    public boolean hasFeature(int bit) {
        return (features & bit) != 0;
    }

    /** Copy with another blob id and index (merge rewrites both). */
    public BlobInfo withIdAndIndex(String id, int index) {
        return new BlobInfo(id, index, chunkSize, chunkCount, compressionAlgo, digestAlgo, features, compressedSize,
                uncompressedSize, tocSize, ciCompressor, ciOffset, ciCompressedSize, ciUncompressedSize, tocDigest,
                metaDigest, metaSize);
    }
}
