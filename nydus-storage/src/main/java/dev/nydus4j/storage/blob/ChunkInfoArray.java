package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes and validates a blob's uncompressed chunk information array (RAFS spec 6.1, 6.4, 6.5): v1 or v2 entries
 * per CHUNK_INFO_V2; with ALIGNED, uncompressed offsets start at 0 and each chunk follows the previous one at
 * the next 4 KiB boundary; sizes are at most the chunk size; stored ranges end before the chunk data end.
 */
final class ChunkInfoArray {
    private ChunkInfoArray() {
    }

    static List<ChunkInfo> decode(BlobInfo blob, byte[] plain, long fileSize, String resource)
            throws CorruptImageException {
        boolean v2 = blob.hasFeature(BlobInfo.FEATURE_CHUNK_INFO_V2);
        boolean aligned = blob.hasFeature(BlobInfo.FEATURE_ALIGNED);
        long dataEnd = chunkDataEnd(blob, fileSize);
        List<ChunkInfo> out = new ArrayList<>(blob.chunkCount());
        long expectedUoff = 0;
        for (int i = 0; i < blob.chunkCount(); i++) {
            long at = blob.ciOffset();
            ChunkInfo c;
            if (v2) {
                c = ChunkInfoV2.decode(plain, i * ChunkInfoV2.SIZE, i, resource, at);
            } else {
                c = ChunkInfoV1.decode(plain, i * ChunkInfoV1.SIZE, i);
                if (c == null) {
                    throw new CorruptImageException(resource, at, "chunk " + i + ": v1 chunk info reserved bits set");
                }
            }
            if (c.uncompressedSize() > blob.chunkSize()) {
                throw new CorruptImageException(resource, at, "chunk " + i + ": uncompressed size "
                        + c.uncompressedSize() + " exceeds the chunk size " + blob.chunkSize());
            }
            if (aligned && c.uncompressedOffset() != expectedUoff) {
                throw new CorruptImageException(resource, at, "chunk " + i + ": uncompressed offset "
                        + c.uncompressedOffset() + " vs expected " + expectedUoff + " (ALIGNED chunks are consecutive)");
            }
            long uend = c.uncompressedOffset() + c.uncompressedSize();
            if (uend > blob.uncompressedSize()) {
                throw new CorruptImageException(resource, at, "chunk " + i + ": uncompressed end " + uend
                        + " beyond the blob's uncompressed size " + blob.uncompressedSize());
            }
            if (c.compressedOffset() + c.compressedSize() > dataEnd) {
                throw new CorruptImageException(resource, at, "chunk " + i + ": stored range ["
                        + c.compressedOffset() + ", " + (c.compressedOffset() + c.compressedSize())
                        + ") beyond the chunk data end " + dataEnd);
            }
            expectedUoff = BlobWriter.alignUp(uend);
            out.add(c);
        }
        return List.copyOf(out);
    }

    /** Spec 6.1 "chunk data end": bounds every stored chunk range. */
    static long chunkDataEnd(BlobInfo blob, long fileSize) {
        if (blob.hasFeature(BlobInfo.FEATURE_HAS_TAR_HEADER) && blob.ciOffset() >= TarHeader.SIZE) {
            return blob.ciOffset() - TarHeader.SIZE;
        }
        if (blob.hasFeature(BlobInfo.FEATURE_CAP_TAR_TOC) && blob.ciOffset() > 0) {
            return blob.ciOffset();
        }
        return Math.min(fileSize, blob.compressedSize());
    }
}
