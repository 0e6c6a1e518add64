package dev.nydus4j.api.config;

import java.util.Objects;

/**
 * The {@code cache} section (CONFIG.md 7).
 *
 * @param type       {@code blobcache}, {@code filecache}, {@code fscache}, {@code dummycache} or "" (none)
 * @param compressed store chunks as fetched (compressed) instead of decompressed
 * @param validate   verify each chunk's digest after fetching
 * @param prefetch   cache-level prefetch worker pool
 * @param workDir    cache directory (filecache/fscache {@code work_dir}), "" when the type needs none
 */
public record CacheConfig(String type, boolean compressed, boolean validate, PrefetchConfig prefetch,
                          String workDir) {
    public CacheConfig {
        Objects.requireNonNull(type, "type is null");
        Objects.requireNonNull(prefetch, "prefetch is null");
        workDir = workDir == null ? "" : workDir;
    }

    /** Whether chunks are kept in a local blob cache. */
    public boolean isBlobCache() {
        return type.equals("blobcache") || type.equals("filecache");
    }

    public CacheConfig withWorkDir(String dir) {
        return new CacheConfig(type, compressed, validate, prefetch, dir);
    }
}
