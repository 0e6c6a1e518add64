package dev.nydus4j.storage.backend;

import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;

/**
 * The core's one retry wrapper, for backends that do not retry by themselves
 * ({@link dev.nydus4j.spi.BlobBackendProvider#retriesInternally()} false, e.g. oss and s3, whose blobs only mark
 * failures {@linkplain BackendException#isRetryable() retryable}). A read failing with a retryable
 * {@link BackendException} is repeated up to {@code retryLimit} times, sleeping {@code backoff * 2^n} (capped at
 * {@code maxBackoff}) before attempt n+1; the buffer is reset to where it was before each attempt, so a partial
 * read is never mixed with a retry. Other failures (not found, 403, corrupt) fail at once. {@code size()} is
 * retried the same way. Thread-safe as the wrapped backend.
 */
public final class RetryingBlobBackend implements BlobBackend {
    private static final Logger LOG = LoggerFactory.getLogger(RetryingBlobBackend.class);

    /** Sleeps between attempts (tests substitute a recorder). */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private final BlobBackend delegate;
    private final int retryLimit;
    private final long backoffMillis;
    private final long maxBackoffMillis;
    private final Sleeper sleeper;

    public RetryingBlobBackend(BlobBackend delegate, int retryLimit, long backoffMillis, long maxBackoffMillis,
                               Sleeper sleeper) {
        if (retryLimit < 0 || backoffMillis < 0 || maxBackoffMillis < backoffMillis) {
            throw new IllegalArgumentException("invalid retry settings: limit " + retryLimit + ", backoff "
                    + backoffMillis + " ms, max " + maxBackoffMillis + " ms");
        }
        this.delegate = java.util.Objects.requireNonNull(delegate, "delegate is null");
        this.retryLimit = retryLimit;
        this.backoffMillis = backoffMillis;
        this.maxBackoffMillis = maxBackoffMillis;
        this.sleeper = sleeper;
    }

    /** Wrapper with the core's default back-off: 200 ms doubling, at most 5 s between attempts. */
    public static BlobBackend wrap(BlobBackend delegate, int retryLimit) {
        return retryLimit <= 0 ? delegate : new RetryingBlobBackend(delegate, retryLimit, 200, 5000, Thread::sleep);
    }

    /** The wrapped backend. */
    public BlobBackend delegate() {
        return delegate;
    }

    public int retryLimit() {
        return retryLimit;
    }

    @Override
    public String blobId() {
        return delegate.blobId();
    }

    @Override
    public long size() throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return delegate.size();
            } catch (BackendException e) {
                pause(e, attempt, "size");
            }
        }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        int pos = dst.position();
        int lim = dst.limit();
        for (int attempt = 0; ; attempt++) {
            try {
                return delegate.read(dst, position);
            } catch (BackendException e) {
                pause(e, attempt, (lim - pos) + " bytes at " + position);
                dst.limit(lim).position(pos);
            }
        }
    }

    private void pause(BackendException e, int attempt, String what) throws IOException {
        if (!e.isRetryable() || attempt >= retryLimit) {
            if (attempt > 0) {
                e.addSuppressed(new IOException("gave up after " + (attempt + 1) + " attempts (retry_limit "
                        + retryLimit + ")"));
            }
            throw e;
        }
        long wait = Math.min(maxBackoffMillis, backoffMillis << Math.min(attempt, 30));
        LOG.debug("blob {}: reading {} failed ({}); attempt {} of {} in {} ms", delegate.blobId(), what,
                e.getMessage(), attempt + 2, retryLimit + 1, wait);
        try {
            sleeper.sleep(wait);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            InterruptedIOException x = new InterruptedIOException("interrupted while waiting to retry blob "
                    + delegate.blobId());
            x.addSuppressed(e);
            throw x;
        }
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
