package dev.nydus4j.spi;

import java.util.Objects;

/**
 * Services the core hands to a blob cache plugin. Immutable.
 *
 * @param instanceId cache instance id (the config {@code id}); keys metrics
 * @param metrics    sink for cache events
 * @param spiVersion SPI version of the core
 */
public record BlobCacheContext(String instanceId, BlobCacheMetrics metrics, int spiVersion) {
    public BlobCacheContext {
        Objects.requireNonNull(instanceId, "instanceId is null");
        Objects.requireNonNull(metrics, "metrics is null");
    }

    /** A context with no metrics: for tools and tests. */
    public static BlobCacheContext simple(String instanceId) {
        return new BlobCacheContext(instanceId, BlobCacheMetrics.NONE, BlobCacheProvider.SPI_VERSION);
    }
}
