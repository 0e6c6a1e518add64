package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One RAFS v6 blob table entry (spec 3.5), 256 bytes; converts to and from {@link BlobInfo}.
 *
 * <pre>
 * off size field                     off size field
 *   0 [64] blob_id                   108  u32 ci_compressor
 *  64  u32 blob_index                112  u64 ci_offset
 *  68  u32 chunk_size                120  u64 ci_compressed_size
 *  72  u32 chunk_count               128  u64 ci_uncompressed_size
 *  76  u32 compression_algo          136 [32] blob_toc_digest
 *  80  u32 digest_algo               168 [32] blob_meta_digest
 *  84  u32 features                  200  u64 blob_meta_size
 *  88  u64 compressed_size           208  [8] cipher_iv
 *  96  u64 uncompressed_size         216  u32 cipher_algo
 * 104  u32 blob_toc_size             220 [36] reserved
 * </pre>
 */
final class BlobTableEntry extends LeStruct {
    static final int SIZE = 256;

    static final int BLOB_ID_OFFSET = 0;
    static final int BLOB_ID_SIZE = 64;
    static final int BLOB_INDEX_OFFSET = BLOB_ID_OFFSET + BLOB_ID_SIZE;
    static final int CHUNK_SIZE_OFFSET = BLOB_INDEX_OFFSET + 4;
    static final int CHUNK_COUNT_OFFSET = CHUNK_SIZE_OFFSET + 4;
    static final int COMPRESSION_ALGO_OFFSET = CHUNK_COUNT_OFFSET + 4;
    static final int DIGEST_ALGO_OFFSET = COMPRESSION_ALGO_OFFSET + 4;
    static final int FEATURES_OFFSET = DIGEST_ALGO_OFFSET + 4;
    static final int COMPRESSED_SIZE_OFFSET = FEATURES_OFFSET + 4;
    static final int UNCOMPRESSED_SIZE_OFFSET = COMPRESSED_SIZE_OFFSET + 8;
    static final int BLOB_TOC_SIZE_OFFSET = UNCOMPRESSED_SIZE_OFFSET + 8;
    static final int CI_COMPRESSOR_OFFSET = BLOB_TOC_SIZE_OFFSET + 4;
    static final int CI_OFFSET_OFFSET = CI_COMPRESSOR_OFFSET + 4;
    static final int CI_COMPRESSED_SIZE_OFFSET = CI_OFFSET_OFFSET + 8;
    static final int CI_UNCOMPRESSED_SIZE_OFFSET = CI_COMPRESSED_SIZE_OFFSET + 8;
    static final int BLOB_TOC_DIGEST_OFFSET = CI_UNCOMPRESSED_SIZE_OFFSET + 8;
    static final int BLOB_META_DIGEST_OFFSET = BLOB_TOC_DIGEST_OFFSET + 32;
    static final int BLOB_META_SIZE_OFFSET = BLOB_META_DIGEST_OFFSET + 32;
    static final int CIPHER_IV_OFFSET = BLOB_META_SIZE_OFFSET + 8;
    static final int CIPHER_ALGO_OFFSET = CIPHER_IV_OFFSET + 8;
    static final int RESERVED_OFFSET = CIPHER_ALGO_OFFSET + 4;

    static final int MAX_BLOBS = 254;
    static final int MAX_CHUNK_COUNT = 1 << 24;
    static final long MAX_COMPRESSED_SIZE = 1L << 40;
    static final long MAX_UNCOMPRESSED_SIZE = 1L << 44;
    static final int CHUNK_INFO_V1_SIZE = 16;
    static final int CHUNK_INFO_V2_SIZE = 24;
    /** Feature bits upstream rejects: 0xF000 of the low half, and the internal bit 31. */
    static final int REJECTED_FEATURES = 0xF000 | 0x8000_0000;
    /** Features needing chunk-data handling this implementation does not have. */
    static final int UNSUPPORTED_FEATURES = BlobInfo.FEATURE_ZRAN | BlobInfo.FEATURE_SEPARATE
            | BlobInfo.FEATURE_TARFS | BlobInfo.FEATURE_BATCH | BlobInfo.FEATURE_ENCRYPTED | 0x800;

    private BlobTableEntry(ByteBuffer file, int base) {
        super(file, base, SIZE);
    }

    /** Entry {@code index} of the table starting at {@code tableOffset} of a whole-file buffer. */
    static BlobTableEntry wrap(ByteBuffer file, long tableOffset, int index) {
        return new BlobTableEntry(file, Math.toIntExact(tableOffset + (long) index * SIZE));
    }

    String blobId() {
        byte[] t = bytes(BLOB_ID_OFFSET, BLOB_ID_SIZE);
        int n = 0;
        while (n < t.length && t[n] != 0) {
            n++;
        }
        return new String(t, 0, n, StandardCharsets.US_ASCII);
    }

    long blobIndex() { return u32(BLOB_INDEX_OFFSET); }
    long chunkSize() { return u32(CHUNK_SIZE_OFFSET); }
    long chunkCount() { return u32(CHUNK_COUNT_OFFSET); }
    long compressionAlgo() { return u32(COMPRESSION_ALGO_OFFSET); }
    long digestAlgo() { return u32(DIGEST_ALGO_OFFSET); }
    int features() { return i32(FEATURES_OFFSET); }
    long compressedSize() { return u64(COMPRESSED_SIZE_OFFSET); }
    long uncompressedSize() { return u64(UNCOMPRESSED_SIZE_OFFSET); }
    long tocSize() { return u32(BLOB_TOC_SIZE_OFFSET); }
    long ciCompressor() { return u32(CI_COMPRESSOR_OFFSET); }
    long ciOffset() { return u64(CI_OFFSET_OFFSET); }
    long ciCompressedSize() { return u64(CI_COMPRESSED_SIZE_OFFSET); }
    long ciUncompressedSize() { return u64(CI_UNCOMPRESSED_SIZE_OFFSET); }
    long cipherAlgo() { return u32(CIPHER_ALGO_OFFSET); }

    /** Spec 3.5 consistency rules, for the entry at position {@code index}. */
    void validate(String resource, int index, long fsChunkSize) throws CorruptImageException {
        String id = blobId();
        if (id.isEmpty()) {
            throw new CorruptImageException(resource, base, "blob table entry " + index
                    + ": blob_id expected non-empty, found empty");
        }
        expect(resource, BLOB_INDEX_OFFSET, "blob_index", index, blobIndex());
        expect(resource, CHUNK_SIZE_OFFSET, "chunk_size (= superblock chunk size)", fsChunkSize, chunkSize());
        if (chunkCount() > MAX_CHUNK_COUNT) {
            throw new CorruptImageException(resource, base + CHUNK_COUNT_OFFSET,
                    "chunk_count expected <= 2^24, found " + chunkCount());
        }
        if (compressionAlgo() > 3) {
            throw new CorruptImageException(resource, base + COMPRESSION_ALGO_OFFSET,
                    "compression_algo expected 0..3, found " + compressionAlgo());
        }
        if (digestAlgo() > 1) {
            throw new CorruptImageException(resource, base + DIGEST_ALGO_OFFSET,
                    "digest_algo expected 0 (blake3) or 1 (sha256), found " + digestAlgo());
        }
        if (ciCompressor() > 3) {
            throw new CorruptImageException(resource, base + CI_COMPRESSOR_OFFSET,
                    "ci_compressor expected 0..3, found " + ciCompressor());
        }
        if (cipherAlgo() > 3) {
            throw new CorruptImageException(resource, base + CIPHER_ALGO_OFFSET,
                    "cipher_algo expected 0..3, found " + cipherAlgo());
        }
        int f = features();
        if ((f & REJECTED_FEATURES) != 0) {
            throw new CorruptImageException(resource, base + FEATURES_OFFSET, String.format(
                    "blob %s features: unknown bits 0x%x (features 0x%x)", id, f & REJECTED_FEATURES, f));
        }
        if ((f & BlobInfo.FEATURE_ALIGNED) == 0) {
            throw new CorruptImageException(resource, base + FEATURES_OFFSET, String.format(
                    "blob %s features expected ALIGNED (0x1) set, found 0x%x", id, f));
        }
        if ((f & UNSUPPORTED_FEATURES) != 0) {
            throw new CorruptImageException(resource, base + FEATURES_OFFSET, String.format(
                    "blob %s uses unsupported features 0x%x (zran/separate/tarfs/batch/encrypted/external)",
                    id, f & UNSUPPORTED_FEATURES));
        }
        if (compressedSize() < 0 || compressedSize() > MAX_COMPRESSED_SIZE) {
            throw new CorruptImageException(resource, base + COMPRESSED_SIZE_OFFSET,
                    "compressed_size expected <= 2^40, found " + Long.toUnsignedString(compressedSize()));
        }
        if (uncompressedSize() < 0 || uncompressedSize() > MAX_UNCOMPRESSED_SIZE) {
            throw new CorruptImageException(resource, base + UNCOMPRESSED_SIZE_OFFSET,
                    "uncompressed_size expected <= 2^44, found " + Long.toUnsignedString(uncompressedSize()));
        }
        if (ciOffset() < 0 || ciCompressedSize() < 0 || ciOffset() + ciCompressedSize() < 0) {
            throw new CorruptImageException(resource, base + CI_OFFSET_OFFSET,
                    "ci_offset + ci_compressed_size overflows");
        }
        if (ciCompressedSize() > ciUncompressedSize()) {
            throw new CorruptImageException(resource, base + CI_COMPRESSED_SIZE_OFFSET, "ci_compressed_size expected"
                    + " <= ci_uncompressed_size " + ciUncompressedSize() + ", found " + ciCompressedSize());
        }
        if (ciUncompressedSize() != 0) {
            long unit = (f & BlobInfo.FEATURE_CHUNK_INFO_V2) != 0 ? CHUNK_INFO_V2_SIZE : CHUNK_INFO_V1_SIZE;
            expect(resource, CI_UNCOMPRESSED_SIZE_OFFSET, "ci_uncompressed_size (chunk_count * " + unit + ")",
                    chunkCount() * unit, ciUncompressedSize());
        }
    }

    private void expect(String resource, int off, String what, long expected, long found)
            throws CorruptImageException {
        if (expected != found) {
            throw new CorruptImageException(resource, base + off, what + " expected " + expected + ", found " + found);
        }
    }

    BlobInfo toBlobInfo() {
        return new BlobInfo(blobId(), (int) blobIndex(), (int) chunkSize(), (int) chunkCount(),
                (int) compressionAlgo(), (int) digestAlgo(), features(), compressedSize(), uncompressedSize(),
                (int) tocSize(), (int) ciCompressor(), ciOffset(), ciCompressedSize(), ciUncompressedSize(),
                bytes(BLOB_TOC_DIGEST_OFFSET, 32), bytes(BLOB_META_DIGEST_OFFSET, 32), u64(BLOB_META_SIZE_OFFSET));
    }

    /** Writes {@code b} as entry {@code index}; blob_index and chunk_size come from the image, not from b. */
    void writeTo(BlobInfo b, int index, int fsChunkSize) {
        putBytes(BLOB_ID_OFFSET, b.blobId().getBytes(StandardCharsets.US_ASCII), BLOB_ID_SIZE);
        put32(BLOB_INDEX_OFFSET, index);
        put32(CHUNK_SIZE_OFFSET, fsChunkSize);
        put32(CHUNK_COUNT_OFFSET, b.chunkCount());
        put32(COMPRESSION_ALGO_OFFSET, b.compressionAlgo());
        put32(DIGEST_ALGO_OFFSET, b.digestAlgo());
        put32(FEATURES_OFFSET, b.features());
        put64(COMPRESSED_SIZE_OFFSET, b.compressedSize());
        put64(UNCOMPRESSED_SIZE_OFFSET, b.uncompressedSize());
        put32(BLOB_TOC_SIZE_OFFSET, b.tocSize());
        put32(CI_COMPRESSOR_OFFSET, b.ciCompressor());
        put64(CI_OFFSET_OFFSET, b.ciOffset());
        put64(CI_COMPRESSED_SIZE_OFFSET, b.ciCompressedSize());
        put64(CI_UNCOMPRESSED_SIZE_OFFSET, b.ciUncompressedSize());
        if (b.tocDigest() != null) {
            putBytes(BLOB_TOC_DIGEST_OFFSET, b.tocDigest(), 32);
        }
        if (b.metaDigest() != null) {
            putBytes(BLOB_META_DIGEST_OFFSET, b.metaDigest(), 32);
        }
        put64(BLOB_META_SIZE_OFFSET, b.metaSize());
    }
}
