package dev.nydus4j.spi;

import dev.nydus4j.api.config.CacheConfig;

import java.io.IOException;
import java.util.List;

/**
 * Factory of one blob cache type, discovered with {@link java.util.ServiceLoader} (register it in
 * {@code META-INF/services/dev.nydus4j.spi.BlobCacheProvider}) or registered explicitly by embedders, exactly like
 * {@link BlobBackendProvider}s.
 */
public interface BlobCacheProvider {

    /** Current SPI version; providers may check {@link BlobCacheContext#spiVersion()}. */
    int SPI_VERSION = 1;

    /**
     * Cache type names as written in configs ({@code cache.type}), lowercase {@code [a-z0-9-]+}; the first is the
     * canonical name, the others synonyms (e.g. {@code blobcache}, {@code filecache}).
     */
    List<String> types();

    /** Checks the cache section before any blob is opened; throws IllegalArgumentException naming the key. */
    default void validate(CacheConfig config) {
    }

    /** Opens (creating when missing) the cache of one blob. */
    BlobCache open(CacheConfig config, CacheBlobInfo blob, BlobCacheContext context) throws IOException;
}
