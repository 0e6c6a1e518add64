package dev.nydus4j.storage.backend;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.JsonMappingException;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.security.CodeSource;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Storage backend providers by type name, discovered with {@link ServiceLoader} or registered explicitly.
 * Errors follow Lucene's NamedSPILoader: an unknown type lists the available ones; a duplicate names both jars.
 * Blobs of a provider that does not retry by itself are opened wrapped in {@link RetryingBlobBackend} with the
 * provider's {@link BlobBackendProvider#retryLimit retry limit}. Thread-safe.
 */
public final class BackendRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(BackendRegistry.class);
    private static final Pattern TYPE_NAME = Pattern.compile("[a-z0-9-]{1,127}");

    private final Map<String, BlobBackendProvider<?>> providers = Collections.synchronizedMap(new TreeMap<>());
    private final ObjectMapper mapper = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    /** Binds again after a warning: unknown keys are ignored as upstream ignores them (CONFIG.md 1). */
    private final ObjectMapper lenient = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** An empty registry, for embedders that register providers explicitly. */
    public static BackendRegistry empty() {
        return new BackendRegistry();
    }

    /** Registry of every provider visible to {@code loader}. */
    public static BackendRegistry discover(ClassLoader loader) {
        BackendRegistry r = new BackendRegistry();
        ServiceLoader<BlobBackendProvider> sl = ServiceLoader.load(BlobBackendProvider.class, loader);
        var it = sl.iterator();
        while (true) {
            BlobBackendProvider<?> p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                throw new IllegalStateException("cannot load a blob backend provider listed in META-INF/services/"
                        + BlobBackendProvider.class.getName() + ": " + e.getMessage(), e);
            }
            r.register(p);
            LOG.info("Registered blob backend '{}' ({} from {})", p.type(), p.getClass().getName(), origin(p));
        }
        return r;
    }

    /** Registry of the providers visible to this class's loader. */
    public static BackendRegistry discover() {
        return discover(BackendRegistry.class.getClassLoader());
    }

    /** Adds a provider; fails when its type name is invalid or already taken (naming both origins). */
    public BackendRegistry register(BlobBackendProvider<?> provider) {
        String type = provider.type();
        if (type == null || !TYPE_NAME.matcher(type).matches()) {
            throw new IllegalArgumentException("blob backend provider " + provider.getClass().getName()
                    + " has invalid type name '" + type + "': must match [a-z0-9-]+ and be under 128 characters");
        }
        BlobBackendProvider<?> old = providers.putIfAbsent(type, provider);
        if (old != null && old.getClass() != provider.getClass()) {
            throw new IllegalStateException("two blob backend providers for type '" + type + "': "
                    + old.getClass().getName() + " (" + origin(old) + ") and " + provider.getClass().getName()
                    + " (" + origin(provider) + "); remove one of the jars");
        }
        return this;
    }

    /** Type names available, sorted. */
    public Collection<String> types() {
        synchronized (providers) {
            return java.util.List.copyOf(providers.keySet());
        }
    }

    /** The provider of {@code type}; fails listing what is available. */
    public BlobBackendProvider<?> provider(String type) {
        BlobBackendProvider<?> p = providers.get(type);
        if (p == null) {
            throw new IllegalArgumentException("No blob backend provider for type '" + type + "'; available: "
                    + types() + ". Add the artifact that provides it (e.g. dev.nydus4j:nydus-backend-" + type
                    + ") to the class path.");
        }
        return p;
    }

    /**
     * Binds {@code configNode} to the provider's config type; an unknown key is logged as a warning with its JSON path
     * and a did-you-mean, and ignored (as upstream ignores it).
     *
     * @param path JSON path of {@code configNode} in the whole document, for messages (e.g. {@code backend.localfs})
     */
    public Object bindConfig(String type, JsonNode configNode, String path) {
        BlobBackendProvider<?> p = provider(type);
        return bind(p, configNode, path);
    }

    /** Opens {@code blobId} with the backend {@code type} configured by {@code configNode}. */
    public BlobBackend open(String type, JsonNode configNode, String path, String blobId, BackendContext context)
            throws IOException {
        BlobBackendProvider<?> p = provider(type);
        return openTyped(p, bind(p, configNode, path), blobId, context);
    }

    /** Opens {@code blobId} with an already bound config object (from {@link #bindConfig}). */
    public BlobBackend open(String type, Object boundConfig, String blobId, BackendContext context)
            throws IOException {
        return openTyped(provider(type), boundConfig, blobId, context);
    }

    @SuppressWarnings("unchecked")
    private static <C> BlobBackend openTyped(BlobBackendProvider<C> p, Object config, String blobId,
                                             BackendContext context) throws IOException {
        C c = p.configType().cast(config);
        p.validate(c);
        BlobBackend b = p.open(c, blobId, context);
        // the one core retry wrapper, only for backends that do not retry by themselves: retries never multiply
        return p.retriesInternally() ? b : RetryingBlobBackend.wrap(b, p.retryLimit(c));
    }

    private <C> C bind(BlobBackendProvider<C> p, JsonNode node, String path) {
        JsonNode config = node == null ? mapper.createObjectNode() : node;
        try {
            C c;
            try {
                c = mapper.treeToValue(config, p.configType());
            } catch (UnrecognizedPropertyException e) {
                LOG.warn(unknownKeyMessage(p, e, path) + "; ignored");
                c = lenient.treeToValue(config, p.configType());
            }
            p.validate(c);
            return c;
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException("invalid " + p.type() + " backend config at '"
                    + join(path, pathOf(e)) + "': " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("invalid " + p.type() + " backend config at '" + path + "': "
                    + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid " + p.type() + " backend config at '" + path + "': "
                    + e.getMessage(), e);
        }
    }

    /** "unknown key 'path.key' in T backend config (did you mean 'k'?); known keys: ..." (snake_case only). */
    static String unknownKeyMessage(BlobBackendProvider<?> p, UnrecognizedPropertyException e, String path) {
        // config keys are snake_case; camelCase ids are Java accessor names Jackson also lists
        List<String> keys = e.getKnownPropertyIds() == null ? List.of() : e.getKnownPropertyIds().stream()
                .map(String::valueOf).filter(k -> k.equals(k.toLowerCase(java.util.Locale.ROOT))).sorted()
                .toList();
        String hint = dev.nydus4j.storage.config.KeySuggestion.closest(e.getPropertyName(), keys)
                .map(k -> " (did you mean '" + k + "'?)").orElse("");
        String known = keys.isEmpty() ? "" : "; known keys: " + String.join(", ", keys);
        return "unknown key '" + join(path, e.getPropertyName()) + "' in " + p.type() + " backend config" + hint
                + known;
    }

    private static String pathOf(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
    }

    private static String join(String base, String leaf) {
        if (base == null || base.isEmpty()) {
            return leaf;
        }
        return leaf == null || leaf.isEmpty() ? base : base + "." + leaf;
    }

    private static String origin(Object o) {
        CodeSource cs = o.getClass().getProtectionDomain().getCodeSource();
        return cs == null || cs.getLocation() == null ? "unknown location" : cs.getLocation().toString();
    }
}
