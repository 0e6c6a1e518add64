package dev.nydus4j.spi;

import java.util.Objects;

/**
 * What a blob cache needs to know about one data blob. Immutable.
 *
 * @param blobId           blob id; the cache derives its file names from it ({@code <id>.blob.data})
 * @param chunkCount       number of chunks in the blob's chunk table (readiness map size)
 * @param compressedSize   size of the blob's stored chunk data (extent of compressed offsets), 0 if unknown
 * @param uncompressedSize end of the blob's uncompressed space (extent of uncompressed offsets), 0 if unknown
 */
public record CacheBlobInfo(String blobId, int chunkCount, long compressedSize, long uncompressedSize) {
    public CacheBlobInfo {
        Objects.requireNonNull(blobId, "blobId is null");
        if (chunkCount < 0) {
            throw new IllegalArgumentException("negative chunk count " + chunkCount + " for blob " + blobId);
        }
    }
}
