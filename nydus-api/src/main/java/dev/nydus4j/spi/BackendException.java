package dev.nydus4j.spi;

import java.io.IOException;

/** A backend request failed. Messages name the backend, blob and range, never credentials. */
public class BackendException extends IOException {
    private final boolean retryable;
    private final int httpStatus;

    public BackendException(String message, boolean retryable, int httpStatus, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
        this.httpStatus = httpStatus;
    }

    public BackendException(String message, boolean retryable) {
        this(message, retryable, 0, null);
    }

    /** Whether repeating the same request may succeed (timeouts, 5xx, connection resets). */
    public boolean isRetryable() {
        return retryable;
    }

    /** HTTP status of the failed response, or 0 when there was none. */
    public int httpStatus() {
        return httpStatus;
    }
}
