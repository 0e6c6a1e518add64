package dev.nydus4j.rafs.builder;

import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Where the builder puts new chunks: the data blob writer ({@code BlobWriter} of nydus-storage in production).
 * The seam lets builder tests run with a simple in-test blob format. Not thread-safe.
 */
public interface BlobSink {
    /** Stores one chunk (already digested and deduplicated by the caller) and says where it went. */
    ChunkInfo addChunk(byte[] buf, int off, int len, byte[] digest) throws IOException;

    /**
     * Stores one chunk the caller already compressed with the build's compressor ({@code packedLen} -1 = store
     * raw). Sinks that compress themselves may ignore {@code packed} and compress again.
     */
    default ChunkInfo addChunk(byte[] buf, int off, int len, byte[] packed, int packedLen, byte[] digest)
            throws IOException {
        return addChunk(buf, off, len, digest);
    }

    int chunkCount();

    /**
     * Ends the chunk region; the returned info has a placeholder id ("x" * 64).
     *
     * @param inlineBootstrap whether {@link #finish} will be given a bootstrap (INLINED_FS_META)
     */
    BlobInfo sealChunks(boolean inlineBootstrap) throws IOException;

    /** Writes the trailer (and the inlined bootstrap if given); returns the final info with the real id. */
    BlobInfo finish(byte[] inlinedBootstrapOrNull) throws IOException;

    /** Opens sinks. */
    interface Factory {
        BlobSink open(OutputStream out, CompressionAlgorithm compressor, DigestAlgorithm digester, int chunkSize)
                throws IOException;
    }
}
