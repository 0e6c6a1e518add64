package dev.nydus4j.rafs.tree;

import dev.nydus4j.storage.ChunkInfo;

/**
 * One piece of a regular file: which blob holds it and where (RAFS spec 3.12 / 5.7).
 *
 * @param blobIndex  index into the image's blob table
 * @param digest     32-byte digest of the plain chunk bytes (the chunk's identity for dedup)
 * @param info       location inside the blob (chunk index, compressed/uncompressed offsets and sizes)
 * @param fileOffset offset of this piece inside the file
 */
public record ChunkRef(int blobIndex, byte[] digest, ChunkInfo info, long fileOffset) {
    public ChunkRef withBlobIndex(int newIndex) {
        return new ChunkRef(newIndex, digest, info, fileOffset);
    }

    public ChunkRef withFileOffset(long newOffset) {
        return new ChunkRef(blobIndex, digest, info, newOffset);
    }
}
