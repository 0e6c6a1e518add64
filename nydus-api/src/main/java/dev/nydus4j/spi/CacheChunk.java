package dev.nydus4j.spi;

/**
 * One chunk's place in its blob, as a blob cache addresses it. Immutable.
 *
 * @param index              chunk index in the blob's chunk table (readiness bit)
 * @param compressedOffset   offset of the stored bytes in the blob
 * @param compressedSize     number of stored bytes
 * @param uncompressedOffset offset of the plain bytes in the blob's uncompressed space
 * @param uncompressedSize   number of plain bytes
 */
public record CacheChunk(int index, long compressedOffset, int compressedSize, long uncompressedOffset,
                         int uncompressedSize) {
    public CacheChunk {
        if (index < 0 || compressedOffset < 0 || uncompressedOffset < 0 || compressedSize <= 0
                || uncompressedSize <= 0) {
            throw new IllegalArgumentException("invalid chunk: index " + index + ", stored " + compressedSize + " at "
                    + compressedOffset + ", plain " + uncompressedSize + " at " + uncompressedOffset);
        }
    }
}
