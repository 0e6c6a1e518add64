package dev.nydus4j.spi;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One data blob opened in a storage backend: the narrow contract a backend plugin implements. Retries, timeouts
 * around whole reads, metrics, caching and prefetch live in the core wrappers, not here.
 *
 * <p>Implementations are thread-safe: several threads may call {@link #read} concurrently. {@link #close()} is
 * idempotent; the core closes a backend it opened.
 */
public interface BlobBackend extends AutoCloseable {

    /** Blob id this backend reads (64 lowercase hex chars). */
    String blobId();

    /** Size of the blob in bytes. */
    long size() throws IOException;

    /**
     * Reads bytes at {@code position} into {@code dst}, from its position up to its limit. Network backends fill
     * the buffer completely or throw; local backends may return fewer bytes (short read at end of file).
     *
     * @return number of bytes read, or -1 when {@code position} is at or beyond the end of the blob
     * @throws BackendException for remote failures (with {@link BackendException#isRetryable()})
     */
    int read(ByteBuffer dst, long position) throws IOException;

    @Override
    void close() throws IOException;
}
