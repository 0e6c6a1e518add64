package dev.nydus4j.fuse;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.api.config.PrefetchConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** A config as upstream's v2 JSON for the API, secrets blanked. */
final class ConfigJson {
    private ConfigJson() {
    }

    static Map<String, Object> redacted(NydusdConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", 2);
        m.put("id", c.id());
        if (c.backend() != null) {
            m.put("backend", Map.of("type", c.backend().type(), c.backend().type(), c.backend().redactedConfig()));
        }
        Map<String, Object> cache = new LinkedHashMap<>();
        cache.put("type", c.cache().type());
        cache.put("compressed", c.cache().compressed());
        cache.put("validate", c.cache().validate());
        cache.put("prefetch", prefetch(c.cache().prefetch()));
        if (!c.cache().workDir().isEmpty()) {
            cache.put(c.cache().type().equals("fscache") ? "fscache" : "filecache", Map.of("work_dir", c.cache().workDir()));
        }
        m.put("cache", cache);
        Map<String, Object> rafs = new LinkedHashMap<>();
        rafs.put("mode", c.rafs().mode());
        rafs.put("batch_size", c.rafs().batchSize());
        rafs.put("validate", c.rafs().validate());
        rafs.put("enable_xattr", c.rafs().enableXattr());
        rafs.put("iostats_files", c.rafs().iostatsFiles());
        rafs.put("access_pattern", c.rafs().accessPattern());
        rafs.put("latest_read_files", c.rafs().latestReadFiles());
        rafs.put("prefetch", prefetch(c.rafs().prefetch()));
        m.put("rafs", rafs);
        return m;
    }

    private static Map<String, Object> prefetch(PrefetchConfig p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enable", p.enable());
        m.put("threads", p.threads());
        m.put("batch_size", p.batchSize());
        m.put("bandwidth_limit", p.bandwidthLimit());
        m.put("prefetch_all", p.prefetchAll());
        return m;
    }
}
