package dev.nydus4j.api.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code backend} section: its type and the raw keys of the {@code backend.<type>} table (v1
 * {@code device.backend.config}), bound to the provider's typed config when the backend is opened.
 *
 * @param type   backend type name, e.g. {@code registry}, {@code localfs}
 * @param config raw keys of the type's table (values: String, Number, Boolean, List, Map)
 */
public record BackendConfig(String type, Map<String, Object> config) {
    /** Keys whose values are credentials: never logged or echoed. */
    public static final Set<String> SECRET_KEYS =
            Set.of("auth", "registry_token", "access_key_id", "access_key_secret", "encryption_key");

    public BackendConfig {
        Objects.requireNonNull(type, "type is null");
        config = config == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(config));
    }

    /** Copy with some keys set or replaced (e.g. {@code host}, {@code repo}, {@code auth}). */
    public BackendConfig with(Map<String, Object> overrides) {
        Map<String, Object> m = new LinkedHashMap<>(config);
        m.putAll(overrides);
        return new BackendConfig(type, m);
    }

    /** The config with secret values replaced by {@code "<redacted>"} (recursively). */
    public Map<String, Object> redactedConfig() {
        return redact(config);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> redact(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (SECRET_KEYS.contains(k) && v != null && !String.valueOf(v).isBlank()) {
                out.put(k, "<redacted>");
            } else if (v instanceof Map) {
                out.put(k, redact((Map<String, Object>) v));
            } else {
                out.put(k, v);
            }
        });
        return out;
    }

    @Override
    public String toString() {
        return "BackendConfig[type=" + type + ", config=" + redactedConfig() + "]";
    }
}
