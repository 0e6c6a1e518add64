package dev.nydus4j.spi;

/** Sink for backend read metrics (shaped like upstream's {@code /api/v1/metrics/backend}). Thread-safe. */
public interface BackendMetrics {
    BackendMetrics NONE = new BackendMetrics() {
        @Override
        public void readCompleted(long bytes, long nanos) {
        }

        @Override
        public void readFailed() {
        }
    };

    /** One successful backend read of {@code bytes} bytes that took {@code nanos}. */
    void readCompleted(long bytes, long nanos);

    /** One failed backend read attempt. */
    void readFailed();
}
