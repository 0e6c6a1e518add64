package dev.nydus4j.api.config;

import java.util.Objects;

/**
 * The {@code rafs} section (CONFIG.md 9).
 *
 * @param mode            {@code direct} or {@code cached}
 * @param batchSize       bytes per merged on-demand backend request (v1 {@code amplify_io})
 * @param validate        verify v5 inode digests (v1 {@code digest_validate})
 * @param enableXattr     serve xattrs even when the image has none flagged
 * @param iostatsFiles    per-file I/O counters
 * @param accessPattern   record access patterns
 * @param latestReadFiles record recently read files
 * @param prefetch        filesystem-level prefetch
 */
public record RafsConfig(String mode, long batchSize, boolean validate, boolean enableXattr, boolean iostatsFiles,
                         boolean accessPattern, boolean latestReadFiles, PrefetchConfig prefetch) {
    public RafsConfig {
        Objects.requireNonNull(mode, "mode is null");
        Objects.requireNonNull(prefetch, "prefetch is null");
    }
}
