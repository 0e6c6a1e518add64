package dev.nydus4j.backend.objectstorage;

import dev.nydus4j.spi.BackendException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;

/**
 * Retries of upload requests (a single PUT, each step of a {@link MultipartUpload}): a call is tried up to
 * {@code attempts} times while it fails with a retryable {@link BackendException}, pausing {@code backoff} before the
 * second try and twice as long before each further one (at most 8 s).
 */
public final class UploadRetry {
    private static final Logger LOG = LoggerFactory.getLogger(UploadRetry.class);
    private static final long MAX_PAUSE_MS = 8000;

    /** One request. */
    public interface Call<T> {
        T run() throws IOException;
    }

    private UploadRetry() {
    }

    /**
     * Runs {@code call}; the last failure is rethrown as is after one attempt, else as a non-retryable
     * {@link BackendException} (same HTTP status) whose message ends with "(after N attempts)".
     *
     * @param what names the request in the retry warnings and in an interruption
     */
    public static <T> T run(String what, int attempts, Duration backoff, Call<T> call) throws IOException {
        long pause = backoff.toMillis();
        for (int attempt = 1; ; attempt++) {
            try {
                return call.run();
            } catch (BackendException e) {
                if (!e.isRetryable() || attempt >= attempts) {
                    if (attempt > 1) {
                        throw new BackendException(e.getMessage() + " (after " + attempt + " attempts)", false,
                                e.httpStatus(), e);
                    }
                    throw e;
                }
                LOG.warn("{}: {} (attempt {} of {}), retrying in {} ms", what, e.getMessage(), attempt, attempts,
                        pause);
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted between upload attempts");
            }
            pause = Math.min(pause * 2, MAX_PAUSE_MS);
        }
    }
}
