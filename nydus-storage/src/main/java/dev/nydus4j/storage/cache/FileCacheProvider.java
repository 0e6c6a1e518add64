package dev.nydus4j.storage.cache;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheContext;
import dev.nydus4j.spi.BlobCacheProvider;
import dev.nydus4j.spi.CacheBlobInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The {@code blobcache} cache type (synonym {@code filecache}): {@link FileBlobCache} files in {@code work_dir}. */
public final class FileCacheProvider implements BlobCacheProvider {
    @Override
    public List<String> types() {
        return List.of("blobcache", "filecache");
    }

    @Override
    public void validate(CacheConfig config) {
        if (config.workDir().isEmpty()) {
            throw new IllegalArgumentException("cache type '" + config.type()
                    + "' needs a work_dir (v1 device.cache.config.work_dir, v2 [cache.filecache] work_dir)");
        }
    }

    @Override
    public BlobCache open(CacheConfig config, CacheBlobInfo blob, BlobCacheContext context) throws IOException {
        validate(config);
        return FileBlobCache.open(Path.of(config.workDir()), blob, config.compressed(), context.metrics());
    }
}
