package dev.nydus4j.api.config;

import java.util.List;
import java.util.Objects;

/**
 * A nydusd configuration in upstream's v2 shape (CONFIG.md 3); v1 JSON documents are converted to it (CONFIG.md 4).
 * Immutable. {@link #toString()} never shows secrets.
 *
 * @param version          always 2
 * @param id               instance id (v1 {@code device.id})
 * @param backend          storage backend, or null when absent (required to mount)
 * @param externalBackends external backends (carried, not used by ordinary images)
 * @param cache            blob cache settings
 * @param rafs             filesystem settings
 * @param overlay          writable overlay, or null
 */
public record NydusdConfig(int version, String id, BackendConfig backend, List<ExternalBackendConfig> externalBackends,
                           CacheConfig cache, RafsConfig rafs, OverlayConfig overlay) {
    public NydusdConfig {
        Objects.requireNonNull(id, "id is null");
        Objects.requireNonNull(cache, "cache is null");
        Objects.requireNonNull(rafs, "rafs is null");
        externalBackends = externalBackends == null ? List.of() : List.copyOf(externalBackends);
    }

    /** Copy with another backend (e.g. host/repo supplied per image). */
    public NydusdConfig withBackend(BackendConfig newBackend) {
        return new NydusdConfig(version, id, newBackend, externalBackends, cache, rafs, overlay);
    }

    /** Copy with another cache section. */
    public NydusdConfig withCache(CacheConfig newCache) {
        return new NydusdConfig(version, id, backend, externalBackends, newCache, rafs, overlay);
    }

    /** Copy with another id. */
    public NydusdConfig withId(String newId) {
        return new NydusdConfig(version, newId, backend, externalBackends, cache, rafs, overlay);
    }
}
