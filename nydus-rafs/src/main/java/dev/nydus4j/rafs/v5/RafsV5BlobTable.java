package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * RAFS v5 blob table and extended blob table (RAFS spec 5.5).
 *
 * <p>Blob table: entries {@code u32 readahead_offset, u32 readahead_size, blob id bytes} separated by one NUL,
 * the last not NUL terminated, zero padded to 8 bytes. Extended entry (64 bytes):
 * <pre>
 * off  size  field
 *   0  u32   chunk_count
 *   4  u32   features (spec 2.3)
 *   8  u64   uncompressed_size
 *  16  u64   compressed_size
 *  24  [40]  reserved
 * </pre>
 */
final class RafsV5BlobTable {
    static final int EXT_ENTRY_SIZE = 64;
    static final int EXT_CHUNK_COUNT_OFFSET = 0;
    static final int EXT_FEATURES_OFFSET = EXT_CHUNK_COUNT_OFFSET + 4;
    static final int EXT_UNCOMPRESSED_SIZE_OFFSET = EXT_FEATURES_OFFSET + 4;
    static final int EXT_COMPRESSED_SIZE_OFFSET = EXT_UNCOMPRESSED_SIZE_OFFSET + 8;

    /** Blob ids are file names in blob directories: never allow path separators or dot names. */
    private static final Pattern BLOB_ID = Pattern.compile("[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]{0,127}");
    private static final int MAX_BLOBS = 256;

    private RafsV5BlobTable() {
    }

    /** Parses both tables (validated superblock) into blob infos with v5 semantics. */
    static List<BlobInfo> parse(ByteBuffer image, RafsV5SuperBlock sb, String resource) throws CorruptImageException {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long start = sb.blobTableOffset();
        long end = start + sb.blobTableSize();
        List<String> ids = new ArrayList<>();
        long pos = start;
        while (end - pos > 8) {
            long entryStart = pos;
            // readahead_offset/size (u32 each) describe blob prefetch ranges; not needed to read files
            pos += 8;
            long idStart = pos;
            while (pos < end && b.get((int) pos) != 0) {
                pos++;
            }
            byte[] id = new byte[(int) (pos - idStart)];
            b.get((int) idStart, id);
            String s = new String(id, StandardCharsets.US_ASCII);
            if (!BLOB_ID.matcher(s).matches() || !new String(id, StandardCharsets.ISO_8859_1).equals(s)) {
                throw new CorruptImageException(resource, idStart,
                        "blob table entry " + ids.size() + " has an invalid blob id (expected 1..128 chars of [A-Za-z0-9._-],"
                                + " found " + id.length + " bytes)");
            }
            if (ids.size() == MAX_BLOBS) {
                throw new CorruptImageException(resource, entryStart, "more than " + MAX_BLOBS + " blobs in the blob table");
            }
            ids.add(s);
            pos++; // the NUL separator (or padding)
        }
        for (long p = Math.min(pos, end); p < end; p++) {
            if (b.get((int) p) != 0) {
                throw new CorruptImageException(resource, p, "blob table padding is not zero");
            }
        }
        long extEntries = sb.extBlobTableEntries();
        if (extEntries != 0 && extEntries < ids.size()) {
            throw new CorruptImageException(resource, sb.extBlobTableOffset(),
                    "extended blob table has " + extEntries + " entries, expected at least " + ids.size());
        }
        int compressor = sb.compressor().id();
        int digester = sb.digester().id();
        byte[] zero = new byte[32];
        List<BlobInfo> blobs = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            int chunkCount = 0;
            int features = 0;
            long uncompressed = 0;
            long compressed = 0;
            if (extEntries != 0) {
                int e = (int) (sb.extBlobTableOffset() + (long) i * EXT_ENTRY_SIZE);
                chunkCount = b.getInt(e + EXT_CHUNK_COUNT_OFFSET);
                features = b.getInt(e + EXT_FEATURES_OFFSET);
                uncompressed = b.getLong(e + EXT_UNCOMPRESSED_SIZE_OFFSET);
                compressed = b.getLong(e + EXT_COMPRESSED_SIZE_OFFSET);
                if (chunkCount < 0 || chunkCount >= (1 << 24)) {
                    throw new CorruptImageException(resource, e + EXT_CHUNK_COUNT_OFFSET,
                            "blob " + i + " chunk_count " + Integer.toUnsignedString(chunkCount) + " exceeds 2^24 - 1");
                }
                if ((features & 0xFFFF & ~0x0FFF) != 0 || features < 0) {
                    throw new CorruptImageException(resource, e + EXT_FEATURES_OFFSET,
                            String.format("blob %d has unknown feature bits 0x%08x", i, features));
                }
                if (uncompressed < 0 || compressed < 0) {
                    throw new CorruptImageException(resource, e + EXT_UNCOMPRESSED_SIZE_OFFSET,
                            "blob " + i + " sizes exceed 2^63: uncompressed " + Long.toUnsignedString(uncompressed)
                                    + ", compressed " + Long.toUnsignedString(compressed));
                }
            }
            blobs.add(new BlobInfo(ids.get(i), i, sb.blockSize(), chunkCount, compressor, digester, features, compressed,
                    uncompressed, 0, 0, 0, 0, 0, zero.clone(), zero.clone(), 0));
        }
        return blobs;
    }

    /**
     * Blob feature bits a v5 writer copies into the extended table. v5 has no blob.meta (no chunk information
     * array, no blob.digest reference: the bootstrap's chunk records are the only location information, spec
     * 5.7), so only the bits that describe the blob file's layout are kept; INLINED_CHUNK_DIGEST and the other
     * meta-dependent bits are dropped, as a v5 reader could not use them. INLINED_FS_META is layout: the blob ends
     * with its layer bootstrap, so the recorded compressed size (taken before that bootstrap was appended) is
     * smaller than the file unless a converter's merge passed the final size.
     */
    static final int WRITTEN_FEATURES = BlobInfo.FEATURE_ALIGNED | BlobInfo.FEATURE_INLINED_FS_META
            | BlobInfo.FEATURE_HAS_TAR_HEADER | BlobInfo.FEATURE_HAS_TOC | BlobInfo.FEATURE_CAP_TAR_TOC;

    /**
     * Checks that the blobs fit a v5 blob table.
     *
     * @throws IllegalArgumentException naming the offending blob
     */
    static void checkWritable(List<BlobInfo> blobs) {
        if (blobs.size() > MAX_BLOBS) {
            throw new IllegalArgumentException("a RAFS v5 image holds at most " + MAX_BLOBS + " blobs, the tree has "
                    + blobs.size());
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (BlobInfo b : blobs) {
            String id = b.blobId();
            if (id == null || !BLOB_ID.matcher(id).matches()) {
                throw new IllegalArgumentException("blob id '" + id + "' cannot be stored in RAFS v5: expected 1..128"
                        + " characters of [A-Za-z0-9._-] not starting with '.'");
            }
            if (!seen.add(id)) {
                throw new IllegalArgumentException("blob id " + id + " appears twice in the blob table");
            }
            if (b.chunkCount() < 0 || b.chunkCount() >= (1 << 24)) {
                throw new IllegalArgumentException("blob " + id + " has " + b.chunkCount() + " chunks, at most 2^24 - 1");
            }
        }
    }

    /** The blob table bytes: entries (readahead 0/0, id) separated by NUL, zero padded to 8. */
    static byte[] encode(List<BlobInfo> blobs) {
        int len = 0;
        for (int i = 0; i < blobs.size(); i++) {
            len += 8 + blobs.get(i).blobId().length() + (i > 0 ? 1 : 0);
        }
        byte[] out = new byte[RafsV5XattrTable.align8(len)];
        int pos = 0;
        for (int i = 0; i < blobs.size(); i++) {
            if (i > 0) {
                pos++; // NUL separator
            }
            pos += 8; // readahead_offset, readahead_size: 0
            byte[] id = blobs.get(i).blobId().getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(id, 0, out, pos, id.length);
            pos += id.length;
        }
        return out;
    }

    /** Writes one 64-byte extended entry per blob at {@code offset} (zeroed buffer). */
    static void writeExtended(ByteBuffer file, int offset, List<BlobInfo> blobs) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blobs.size(); i++) {
            BlobInfo blob = blobs.get(i);
            int e = offset + i * EXT_ENTRY_SIZE;
            b.putInt(e + EXT_CHUNK_COUNT_OFFSET, blob.chunkCount());
            b.putInt(e + EXT_FEATURES_OFFSET, blob.features() & WRITTEN_FEATURES);
            b.putLong(e + EXT_UNCOMPRESSED_SIZE_OFFSET, blob.uncompressedSize());
            b.putLong(e + EXT_COMPRESSED_SIZE_OFFSET, blob.compressedSize());
        }
    }
}
