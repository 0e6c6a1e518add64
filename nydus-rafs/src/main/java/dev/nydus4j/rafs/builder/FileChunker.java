package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.DigestAlgorithm;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Cuts file contents into chunk-size pieces, digests each piece, reuses an existing chunk with the same digest
 * and hands new ones to the blob sink. Reads through one chunk-size buffer: never a whole file. Not thread-safe.
 */
final class FileChunker {
    /** Supplies the blob sink on first need, so a build without new chunks creates no blob. */
    interface SinkSupplier {
        BlobSink get() throws IOException;
    }

    private final int chunkSize;
    private final DigestAlgorithm digester;
    private final ChunkIndex index;
    private final SinkSupplier sink;
    private final byte[] buf;
    private long newChunks;
    private long reusedChunks;

    FileChunker(int chunkSize, DigestAlgorithm digester, ChunkIndex index, SinkSupplier sink) {
        this.chunkSize = chunkSize;
        this.digester = Objects.requireNonNull(digester, "digester is null");
        this.index = Objects.requireNonNull(index, "index is null");
        this.sink = Objects.requireNonNull(sink, "sink is null");
        this.buf = new byte[chunkSize];
    }

    /**
     * Reads exactly {@code size} bytes of {@code in} and returns the file's chunk list.
     *
     * @param what names the file in error messages
     */
    List<ChunkRef> chunk(InputStream in, long size, String what) throws IOException {
        if (size < 0) {
            throw new IOException(what + ": negative size " + size);
        }
        List<ChunkRef> out = new ArrayList<>((int) Math.min(1024, (size + chunkSize - 1) / chunkSize));
        long off = 0;
        while (off < size) {
            int want = (int) Math.min(chunkSize, size - off);
            int got;
            try {
                got = in.readNBytes(buf, 0, want);
            } catch (IOException e) {
                throw new IOException(what + ": reading data failed at byte " + off + " of " + size + ": "
                        + e.getMessage(), e);
            }
            if (got < want) {
                throw new IOException(what + ": expected " + size + " bytes of data but the input ended after "
                        + (off + got) + " (truncated archive or file changed while reading)");
            }
            byte[] digest = digester.digest(buf, 0, want);
            ChunkRef ref = index.lookup(digest);
            if (ref == null) {
                ChunkInfo info = sink.get().addChunk(buf, 0, want, digest);
                ref = new ChunkRef(index.newBlobIndex(), digest, info, off);
                index.addNew(ref);
                newChunks++;
            } else {
                ref = ref.withFileOffset(off);
                reusedChunks++;
            }
            out.add(ref);
            off += want;
        }
        return out;
    }

    long newChunks() {
        return newChunks;
    }

    long reusedChunks() {
        return reusedChunks;
    }
}
