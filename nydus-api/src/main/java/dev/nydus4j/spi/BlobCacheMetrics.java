package dev.nydus4j.spi;

/**
 * Sink for blob cache events (shaped like upstream's {@code /api/v1/metrics/blobcache}). The core reports hits and
 * misses of reads; caches may report what they store. Thread-safe.
 */
public interface BlobCacheMetrics {
    BlobCacheMetrics NONE = new BlobCacheMetrics() {
        @Override
        public void hit(boolean whole) {
        }

        @Override
        public void miss() {
        }

        @Override
        public void stored(long bytes) {
        }
    };

    /** A read served from the cache: of a whole chunk, or of part of one. */
    void hit(boolean whole);

    /** A read whose chunk was not in the cache. */
    void miss();

    /** {@code bytes} bytes of one chunk were written to the cache. */
    void stored(long bytes);
}
