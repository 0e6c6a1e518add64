package dev.nydus4j.storage.cache;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.spi.BlobCacheProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.CodeSource;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Blob cache providers by type name (each provider's names and synonyms), discovered with {@link ServiceLoader} or
 * registered explicitly, with the same errors as the backend registry: an unknown type lists the available ones
 * and the artifact to add; two providers of one name name both jars. An empty type means {@code dummycache}
 * (CONFIG.md 7). Thread-safe.
 */
public final class CacheRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(CacheRegistry.class);
    private static final Pattern TYPE_NAME = Pattern.compile("[a-z0-9-]{1,127}");
    /** What {@code cache.type = ""} stands for. */
    public static final String DEFAULT_TYPE = "dummycache";

    private final Map<String, BlobCacheProvider> providers = new TreeMap<>();

    /** An empty registry, for embedders that register providers explicitly. */
    public static CacheRegistry empty() {
        return new CacheRegistry();
    }

    /** The built-in providers ({@code blobcache}/{@code filecache}, {@code dummycache}/{@code dummy}) only. */
    public static CacheRegistry builtIn() {
        return new CacheRegistry().register(new FileCacheProvider()).register(new DummyCacheProvider());
    }

    /**
     * The built-in providers plus every provider visible to {@code loader} (built-ins are always present, even when
     * a repackaged jar lost this module's service file).
     */
    public static CacheRegistry discover(ClassLoader loader) {
        CacheRegistry r = builtIn();
        var it = ServiceLoader.load(BlobCacheProvider.class, loader).iterator();
        while (true) {
            BlobCacheProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                throw new IllegalStateException("cannot load a blob cache provider listed in META-INF/services/"
                        + BlobCacheProvider.class.getName() + ": " + e.getMessage(), e);
            }
            r.register(p);
            LOG.debug("Registered blob cache {} ({} from {})", p.types(), p.getClass().getName(), origin(p));
        }
        return r;
    }

    /** Registry of the providers visible to this class's loader. */
    public static CacheRegistry discover() {
        return discover(CacheRegistry.class.getClassLoader());
    }

    /** Adds a provider under all its names; fails when a name is invalid or taken (naming both origins). */
    public synchronized CacheRegistry register(BlobCacheProvider provider) {
        List<String> names = provider.types();
        if (names == null || names.isEmpty()) {
            throw new IllegalArgumentException("blob cache provider " + provider.getClass().getName()
                    + " declares no type name");
        }
        for (String type : names) {
            if (type == null || !TYPE_NAME.matcher(type).matches()) {
                throw new IllegalArgumentException("blob cache provider " + provider.getClass().getName()
                        + " has invalid type name '" + type + "': must match [a-z0-9-]+ and be under 128 characters");
            }
            BlobCacheProvider old = providers.get(type);
            if (old != null && old.getClass() != provider.getClass()) {
                throw new IllegalStateException("two blob cache providers for type '" + type + "': "
                        + old.getClass().getName() + " (" + origin(old) + ") and " + provider.getClass().getName()
                        + " (" + origin(provider) + "); remove one of the jars");
            }
        }
        for (String type : names) {
            providers.putIfAbsent(type, provider);
        }
        return this;
    }

    /** Type names available (synonyms included), sorted. */
    public synchronized Collection<String> types() {
        return List.copyOf(providers.keySet());
    }

    /** The provider of {@code type} ("" = {@value #DEFAULT_TYPE}); fails listing what is available. */
    public synchronized BlobCacheProvider provider(String type) {
        String t = type == null || type.isEmpty() ? DEFAULT_TYPE : type;
        BlobCacheProvider p = providers.get(t);
        if (p == null && t.equals("fscache")) {
            // refused on purpose: no artifact provides it, so do not suggest one
            throw new IllegalArgumentException("cache type 'fscache' is not supported by nydus4j: it serves images"
                    + " over FUSE only, and fscache needs the kernel's EROFS-over-fscache mode (nydusd singleton"
                    + " --fscache); use cache type 'blobcache' (or 'filecache') with a work_dir; available: " + types());
        }
        if (p == null) {
            throw new IllegalArgumentException("No blob cache provider for cache type '" + t + "'; available: "
                    + types() + ". Add the artifact that provides it (e.g. dev.nydus4j:nydus-cache-" + t
                    + ") to the class path.");
        }
        return p;
    }

    /** The provider of a cache section, after its {@link BlobCacheProvider#validate} accepted the section. */
    public BlobCacheProvider provider(CacheConfig config) {
        BlobCacheProvider p = provider(config.type());
        p.validate(config);
        return p;
    }

    private static String origin(Object o) {
        CodeSource cs = o.getClass().getProtectionDomain().getCodeSource();
        return cs == null || cs.getLocation() == null ? "unknown location" : cs.getLocation().toString();
    }
}
