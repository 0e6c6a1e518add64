package dev.nydus4j.rafs.builder;

import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.blob.BlobWriter;

import java.io.IOException;
import java.io.OutputStream;

/** The production {@link BlobSink}: nydus-storage's {@link BlobWriter} (chunk data, blob.meta, digests, ToC). */
final class BlobWriterSink implements BlobSink {
    private final BlobWriter writer;

    private BlobWriterSink(BlobWriter writer) {
        this.writer = writer;
    }

    static BlobSink open(OutputStream out, CompressionAlgorithm compressor, DigestAlgorithm digester, int chunkSize)
            throws IOException {
        return new BlobWriterSink(BlobWriter.open(out, compressor, digester, chunkSize));
    }

    @Override
    public ChunkInfo addChunk(byte[] buf, int off, int len, byte[] digest) throws IOException {
        return writer.addChunk(buf, off, len, digest);
    }

    @Override
    public ChunkInfo addChunk(byte[] buf, int off, int len, byte[] packed, int packedLen, byte[] digest)
            throws IOException {
        return writer.addChunk(buf, off, len, packed, packedLen, digest);
    }

    @Override
    public int chunkCount() {
        return writer.chunkCount();
    }

    @Override
    public BlobInfo sealChunks(boolean inlineBootstrap) throws IOException {
        return writer.sealChunks(inlineBootstrap);
    }

    @Override
    public BlobInfo finish(byte[] inlinedBootstrapOrNull) throws IOException {
        return writer.finish(inlinedBootstrapOrNull);
    }
}
