package dev.nydus4j.spi;

import java.time.Clock;
import java.util.concurrent.Executor;

/**
 * Services the core hands to a backend plugin instead of globals. Immutable and thread-safe.
 *
 * @param instanceId  backend instance id (mountpoint, "/" by default); keys metrics
 * @param executor    executor owned by the core, for plugins that need background work (health checks). It is
 *                    bounded: a fixed number of daemon threads and a bounded queue (the blob device's, see
 *                    {@code dev.nydus4j.storage.device.BoundedExecutor}); a task submitted while it is full is
 *                    rejected with {@link java.util.concurrent.RejectedExecutionException}, never queued without
 *                    limit. Plugins must not block its threads for long and must not shut it down.
 * @param clock       time source (tests inject a fixed one)
 * @param metrics     sink for backend metrics
 * @param spiVersion  SPI version of the core
 */
public record BackendContext(String instanceId, Executor executor, Clock clock, BackendMetrics metrics,
                             int spiVersion) {
    public BackendContext {
        java.util.Objects.requireNonNull(instanceId, "instanceId is null");
        java.util.Objects.requireNonNull(executor, "executor is null");
        java.util.Objects.requireNonNull(clock, "clock is null");
        java.util.Objects.requireNonNull(metrics, "metrics is null");
    }

    /** A context with a caller-runs executor, the system clock and no metrics: for tools and tests. */
    public static BackendContext simple(String instanceId) {
        return new BackendContext(instanceId, Runnable::run, Clock.systemUTC(), BackendMetrics.NONE,
                BlobBackendProvider.SPI_VERSION);
    }
}
