package dev.nydus4j.storage.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.nydus4j.api.config.BackendConfig;
import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.ExternalBackendConfig;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.api.config.OverlayConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.api.config.RafsConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses upstream's nydusd configuration dialects (CONFIG.md 1): v2 JSON, v2 TOML and v1 JSON (converted to v2).
 * Unknown keys are ignored as upstream ignores them (its own tools write keys this build does not know), but each
 * is logged as a warning with its path and a did-you-mean, so a typo does not go unnoticed; the legacy no-op keys
 * upstream documents are accepted quietly. Registry {@code host}/{@code repo} may be missing at parse
 * time: they are supplied per image and checked when the backend is opened.
 */
public final class NydusdConfigParser {
    /** Upstream's limit for configuration files. */
    public static final long MAX_FILE_SIZE = 0x100000;
    private static final long MAX_BATCH = 0x10000000L;
    private static final Set<String> BACKEND_TYPES = Set.of("registry", "oss", "s3", "localfs", "localdisk", "http-proxy");
    private static final Set<String> CACHE_TYPES = Set.of("blobcache", "filecache", "fscache", "dummycache", "");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The TOML mapper, made on first use: most configs are JSON, and a daemon's start-up pays for what it loads. */
    private static final class Toml {
        static final TomlMapper MAPPER = new TomlMapper();
    }

    private NydusdConfigParser() {
    }

    /** Reads and parses a config file (at most 1 MiB). */
    public static NydusdConfig parseFile(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_SIZE) {
            throw new ConfigException("nydusd config " + file + " is too big: " + size + " bytes, limit " + MAX_FILE_SIZE);
        }
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * Parses config text.
     *
     * @param source names the text in messages (a path, "mount request", ...)
     */
    public static NydusdConfig parse(String text, String source) {
        String trimmed = text.strip();
        JsonNode root;
        if (trimmed.startsWith("{")) {
            try {
                root = JSON.readTree(trimmed);
            } catch (JsonProcessingException e) {
                throw new ConfigException("invalid nydusd config " + source + ": not valid JSON at line "
                        + e.getLocation().getLineNr() + " column " + e.getLocation().getColumnNr() + ": "
                        + e.getOriginalMessage(), e);
            }
        } else {
            try {
                root = Toml.MAPPER.readTree(trimmed);
            } catch (IOException e) {
                throw new ConfigException("invalid nydusd config " + source + ": neither JSON nor TOML: "
                        + e.getMessage(), e);
            }
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException("invalid nydusd config " + source + ": the document must be an object");
        }
        if (root.has("version")) {
            return parseV2(new ConfigObject(source, "", root));
        }
        if (root.has("device")) {
            return parseV1(new ConfigObject(source, "", root));
        }
        throw new ConfigException("invalid nydusd config " + source + ": neither a v2 config (\"version\": 2) nor a"
                + " v1 config (\"device\": {...}, \"mode\": ...)");
    }

    // ---- v1 (legacy RafsConfig JSON), converted to v2 as CONFIG.md 4 says ----

    private static NydusdConfig parseV1(ConfigObject root) {
        ConfigObject device = root.object("device");
        String id = device.string("id", "");
        BackendConfig backend = null;
        ConfigObject b = device.object("backend");
        if (b == null) {
            throw device.error("device.backend", "is required");
        }
        String type = b.string("type", null);
        if (type == null) {
            throw b.error("device.backend.type", "is required");
        }
        if (!Set.of("registry", "oss", "s3", "localfs", "localdisk").contains(type) && !pluginBackendTypes().contains(type)) {
            throw b.error("device.backend.type", "unsupported backend type '" + type
                    + "' in a v1 config; supported: " + String.join(", ", knownBackendTypes(false))
                    + " (http-proxy needs v2)");
        }
        ConfigObject bc = b.object("config");
        if (bc == null) {
            throw b.error("device.backend.config", "is required");
        }
        backend = new BackendConfig(type, bc.asMap());
        b.finish();
        List<ExternalBackendConfig> external = externalBackends(device, "external_backends");

        ConfigObject c = device.object("cache");
        String cacheType = "";
        boolean compressed = false;
        boolean validate = false;
        String workDir = "";
        if (c != null) {
            cacheType = c.string("type", "");
            compressed = c.bool("compressed", false);
            validate = c.bool("validate", false);
            c.ignore("prefetch_config"); // not read by upstream's v1 path
            ConfigObject cc = c.object("config");
            if (cc != null) {
                workDir = cacheKeys(cc, "work_dir");
                cc.finish();
            } else if (Set.of("blobcache", "filecache", "fscache").contains(cacheType)) {
                throw c.error("device.cache.config", "is required for cache type '" + cacheType + "'");
            }
            c.finish();
        }
        device.finish();

        String mode = root.string("mode", null);
        boolean digestValidate = root.bool("digest_validate", false);
        boolean iostats = root.bool("iostats_files", false);
        boolean xattr = root.bool("enable_xattr", false);
        boolean pattern = root.bool("access_pattern", false);
        boolean latest = root.bool("latest_read_files", false);
        long amplify = root.uint("amplify_io", 1 << 20, MAX_BATCH);
        PrefetchConfig fsPrefetch = new PrefetchConfig(false, 8, 1 << 20, 0, true, false);
        ConfigObject fp = root.object("fs_prefetch");
        if (fp != null) {
            fsPrefetch = new PrefetchConfig(fp.bool("enable", false), (int) fp.uint("threads_count", 8, 1024),
                    fp.uint("merging_size", 1 << 20, MAX_BATCH), fp.uint("bandwidth_rate", 0, 0xFFFF_FFFFL),
                    fp.bool("prefetch_all", true), fp.bool("stream_prefetch", false));
            fp.finish();
        }
        root.finish(); // unknown keys first: a misspelt "mode" is warned about before 'mode is required'
        if (mode == null) {
            throw root.error("mode", "is required in a v1 config (\"direct\" or \"cached\")");
        }
        PrefetchConfig cachePrefetch = fsPrefetch.enable() ? fsPrefetch : new PrefetchConfig(false, 0, 0, 0, true, false);
        NydusdConfig cfg = new NydusdConfig(2, id, backend, external,
                new CacheConfig(cacheType, compressed, validate, cachePrefetch, workDir),
                new RafsConfig(mode, amplify, digestValidate, xattr, iostats, pattern, latest, fsPrefetch), null);
        validate(cfg, root);
        return cfg;
    }

    // ---- v2 (JSON or TOML) ----

    private static NydusdConfig parseV2(ConfigObject root) {
        long version = root.uint("version", 0, Integer.MAX_VALUE);
        if (version != 2) {
            throw root.error("version", "must be 2, found " + version);
        }
        String id = root.string("id", "");
        BackendConfig backend = null;
        ConfigObject b = root.object("backend");
        if (b != null) {
            String type = b.string("type", null);
            if (type == null) {
                throw b.error("backend.type", "is required");
            }
            if (!BACKEND_TYPES.contains(type) && !pluginBackendTypes().contains(type)) {
                throw b.error("backend.type", "unknown backend type '" + type + "'; known: " + knownBackendTypes(true));
            }
            b.ignore(BACKEND_TYPES.toArray(String[]::new)); // tables of other types are allowed and unused
            ConfigObject t = b.object(type);
            if (t == null) {
                throw b.error("backend." + type, "is required when backend.type is '" + type + "'");
            }
            backend = new BackendConfig(type, t.asMap());
            b.finish();
        }
        List<ExternalBackendConfig> external = externalBackends(root, "external_backends");

        String cacheType = "";
        boolean compressed = false;
        boolean validate = false;
        String workDir = "";
        PrefetchConfig cachePrefetch = PrefetchConfig.DISABLED;
        ConfigObject c = root.object("cache");
        if (c != null) {
            cacheType = c.string("type", "");
            compressed = c.bool("compressed", false);
            validate = c.bool("validate", false);
            ConfigObject p = c.object("prefetch");
            if (p != null) {
                cachePrefetch = prefetchV2(p);
            }
            ConfigObject fc = c.object("filecache");
            ConfigObject fs = c.object("fscache");
            ConfigObject chosen = cacheType.equals("fscache") ? fs : fc;
            if (chosen != null) {
                workDir = cacheKeys(chosen, ".");
                chosen.finish();
            }
            ConfigObject other = cacheType.equals("fscache") ? fc : fs;
            if (other != null) {
                cacheKeys(other, ".");
                other.finish();
            }
            c.finish();
        }
        RafsConfig rafs = new RafsConfig("direct", 1 << 20, false, false, false, false, false, PrefetchConfig.DISABLED);
        ConfigObject r = root.object("rafs");
        if (r != null) {
            PrefetchConfig rp = PrefetchConfig.DISABLED;
            ConfigObject p = r.object("prefetch");
            if (p != null) {
                rp = prefetchV2(p);
            }
            rafs = new RafsConfig(r.string("mode", "direct"), r.uint("batch_size", 1 << 20, MAX_BATCH),
                    r.bool("validate", false), r.bool("enable_xattr", false), r.bool("iostats_files", false),
                    r.bool("access_pattern", false), r.bool("latest_read_files", false), rp);
            r.finish();
        }
        OverlayConfig overlay = null;
        ConfigObject o = root.object("overlay");
        if (o != null) {
            String upper = o.string("upper_dir", null);
            String work = o.string("work_dir", null);
            if (upper == null || work == null) {
                throw o.error("overlay", "needs both upper_dir and work_dir");
            }
            overlay = new OverlayConfig(upper, work);
            o.finish();
        }
        root.finish();
        NydusdConfig cfg = new NydusdConfig(2, id, backend, external,
                new CacheConfig(cacheType, compressed, validate, cachePrefetch, workDir), rafs, overlay);
        validate(cfg, root);
        return cfg;
    }

    private static PrefetchConfig prefetchV2(ConfigObject p) {
        if (!p.has("enable")) {
            throw p.error(p.path() + ".enable", "is required when the prefetch table is present");
        }
        PrefetchConfig pc = new PrefetchConfig(p.bool("enable", false), (int) p.uint("threads", 8, Integer.MAX_VALUE),
                p.uint("batch_size", 1 << 20, Long.MAX_VALUE), p.uint("bandwidth_limit", 0, 0xFFFF_FFFFL),
                p.bool("prefetch_all", false), p.bool("stream_prefetch", false));
        p.finish();
        return pc;
    }

    /** Reads the filecache/fscache keys; returns work_dir. Encryption is refused clearly (not supported). */
    private static String cacheKeys(ConfigObject cc, String defaultWorkDir) {
        String workDir = cc.string("work_dir", defaultWorkDir);
        cc.bool("disable_indexed_map", false);
        if (cc.bool("enable_encryption", false) || cc.bool("enable_convergent_encryption", false)) {
            throw cc.error(cc.path() + ".enable_encryption", "cache encryption is not supported by nydus4j");
        }
        cc.string("encryption_key", "");
        // legacy keys upstream documents as harmless no-ops inside the cache config
        cc.ignore("readahead", "readahead_sec", "mirrors", "auth_through", "compressed");
        return workDir;
    }

    private static List<ExternalBackendConfig> externalBackends(ConfigObject parent, String key) {
        JsonNode arr = parent.raw(key);
        if (arr == null) {
            return List.of();
        }
        String at = (parent.path().isEmpty() ? "" : parent.path() + ".") + key;
        if (!arr.isArray()) {
            throw parent.error(at, "must be an array");
        }
        List<ExternalBackendConfig> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            ConfigObject e = new ConfigObject("", at + "[" + i + "]", arr.get(i));
            String type = e.string("type", null);
            ConfigObject patch = e.object("patch");
            ConfigObject config = e.object("config");
            if (type == null || patch == null || config == null) {
                throw e.error(at + "[" + i + "]", "needs type, patch and config");
            }
            out.add(new ExternalBackendConfig(type, stringMap(patch), stringMap(config)));
            e.finish();
        }
        return out;
    }

    private static Map<String, String> stringMap(ConfigObject o) {
        Map<String, String> m = new HashMap<>();
        o.asMap().forEach((k, v) -> m.put(k, String.valueOf(v)));
        return m;
    }

    /** Upstream's backend types plus backend plugins on the class path (e.g. dragonfly), sorted. */
    private static Set<String> knownBackendTypes(boolean v2) {
        Set<String> known = new java.util.TreeSet<>(BACKEND_TYPES);
        if (!v2) {
            known.remove("http-proxy");
        }
        known.addAll(pluginBackendTypes());
        return known;
    }

    private static java.util.Collection<String> pluginBackendTypes() {
        try {
            return dev.nydus4j.storage.backend.BackendRegistry.discover().types();
        } catch (RuntimeException e) {
            // a broken plugin set is reported when a backend is opened; parsing only needs the names it can see
            return List.of();
        }
    }

    /** CONFIG.md 3.1 rules that do not depend on per-image supplementation. */
    private static void validate(NydusdConfig cfg, ConfigObject root) {
        if (!CACHE_TYPES.contains(cfg.cache().type())) {
            // cache plugins on the class path (and the dummy synonym) are known too
            java.util.Set<String> known = new java.util.TreeSet<>(CACHE_TYPES);
            known.addAll(dev.nydus4j.storage.cache.CacheRegistry.discover().types());
            if (!known.contains(cfg.cache().type())) {
                known.remove("");
                throw root.error("cache.type", "unknown cache type '" + cfg.cache().type() + "'; known: "
                        + String.join(", ", known) + ", \"\"");
            }
        }
        if ((cfg.cache().isBlobCache() || cfg.cache().type().equals("fscache")) && cfg.cache().workDir().isEmpty()) {
            throw root.error("cache.work_dir", "must not be empty for cache type '" + cfg.cache().type() + "'");
        }
        checkPrefetch(cfg.cache().prefetch(), "cache.prefetch", root);
        checkPrefetch(cfg.rafs().prefetch(), "rafs.prefetch", root);
        if (!cfg.rafs().mode().equals("direct") && !cfg.rafs().mode().equals("cached")) {
            throw root.error("rafs.mode", "must be \"direct\" or \"cached\", found \"" + cfg.rafs().mode() + "\"");
        }
    }

    private static void checkPrefetch(PrefetchConfig p, String at, ConfigObject root) {
        if (!p.enable()) {
            return;
        }
        if (p.batchSize() > MAX_BATCH) {
            throw root.error(at + ".batch_size", "must be at most " + MAX_BATCH);
        }
        if (p.threads() < 1 || p.threads() > 1024) {
            throw root.error(at + ".threads", "must be within 1..1024, found " + p.threads());
        }
    }
}
