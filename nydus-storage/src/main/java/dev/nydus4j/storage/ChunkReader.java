package dev.nydus4j.storage;

import dev.nydus4j.storage.blob.BlobInfo;

import java.io.IOException;

/**
 * Reads the plain bytes of single chunks from data blobs. Implementations are thread-safe and own the blob
 * handles they open; the caller closes the reader.
 */
public interface ChunkReader extends AutoCloseable {

    /**
     * Reads chunk {@code info} of blob {@code blob} into {@code dst[0, info.uncompressedSize())}: fetches the
     * stored bytes, decompresses them with the blob's algorithm when {@code info.compressed()}, and verifies the
     * CRC-32C when recorded and {@code expectedDigest} (with the blob's digest algorithm) when non-null.
     *
     * @throws dev.nydus4j.api.CorruptImageException when bytes do not decode or do not verify (names blob and chunk)
     * @throws java.io.FileNotFoundException         when the blob is not available
     */
    void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException;

    /**
     * Copies plain bytes {@code [from, from + dst.remaining())} of a chunk into {@code dst} when the reader holds
     * the chunk locally in plain form already verified (a blob cache), without decoding the whole chunk; returns
     * false, touching nothing, when it does not (the caller then uses {@link #readChunk}).
     */
    default boolean readCached(BlobInfo blob, ChunkInfo info, int from, java.nio.ByteBuffer dst) throws IOException {
        return false;
    }

    /**
     * Tells the reader every chunk of {@code blob} an image refers to, with its digest ({@code digests.get(i)} for
     * {@code chunks.get(i)}, null when unknown), so that it can merge reads of neighbouring chunks. Optional: the
     * default ignores it.
     */
    default void addChunks(BlobInfo blob, java.util.List<ChunkInfo> chunks, java.util.List<byte[]> digests)
            throws IOException {
    }

    @Override
    void close() throws IOException;
}
