package dev.nydus4j.backend.objectstorage;

/** The timeout and retry keys every network backend has (CONFIG.md 6), checked the same way for each. */
public final class ConnectionLimits {
    private ConnectionLimits() {
    }

    /** Rejects negative timeouts and a {@code retry_limit} outside upstream's u8 range, naming the keys. */
    public static void check(int timeoutSecs, int connectTimeoutSecs, int retryLimit) {
        if (timeoutSecs < 0 || connectTimeoutSecs < 0) {
            throw new IllegalArgumentException("timeout and connect_timeout must be >= 0 seconds, got " + timeoutSecs
                    + " and " + connectTimeoutSecs);
        }
        if (retryLimit < 0 || retryLimit > 255) {
            throw new IllegalArgumentException("retry_limit must be in 0..255, got " + retryLimit);
        }
    }
}
