package dev.nydus4j.storage;

/**
 * Where one chunk's bytes live inside its data blob (chunk information array entry, RAFS spec 6.4/6.5).
 *
 * @param index              chunk index inside its blob (allocation order)
 * @param compressedOffset   offset of the stored bytes in the blob file
 * @param compressedSize     number of stored bytes
 * @param uncompressedOffset offset in the blob's 4 KiB-aligned uncompressed space
 * @param uncompressedSize   number of plain bytes (1..16 MiB)
 * @param compressed         whether the stored bytes are compressed with the blob's algorithm
 * @param crc32c             CRC-32C of the plain bytes, or 0 when not recorded
 */
public record ChunkInfo(int index, long compressedOffset, int compressedSize, long uncompressedOffset,
                        int uncompressedSize, boolean compressed, int crc32c) {
}
