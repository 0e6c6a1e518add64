package dev.nydus4j.api.config;

/**
 * Prefetch settings ({@code rafs.prefetch} / {@code cache.prefetch}; v1 {@code fs_prefetch}), CONFIG.md 8.
 *
 * @param enable         whether prefetch runs
 * @param threads        worker threads
 * @param batchSize      bytes per merged prefetch request
 * @param bandwidthLimit bytes per second, 0 = unlimited
 * @param prefetchAll    download everything eventually
 * @param streamPrefetch fetch whole blobs with one range-less GET
 */
public record PrefetchConfig(boolean enable, int threads, long batchSize, long bandwidthLimit, boolean prefetchAll,
                             boolean streamPrefetch) {
    /** Disabled prefetch with v2 defaults. */
    public static final PrefetchConfig DISABLED = new PrefetchConfig(false, 8, 1 << 20, 0, false, false);
}
