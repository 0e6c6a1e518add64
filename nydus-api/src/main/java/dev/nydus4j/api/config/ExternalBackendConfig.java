package dev.nydus4j.api.config;

import java.util.Map;

/** One {@code external_backends} entry (CONFIG.md 5.8): carried for images with external blobs. */
public record ExternalBackendConfig(String type, Map<String, String> patch, Map<String, String> config) {
    public ExternalBackendConfig {
        patch = patch == null ? Map.of() : Map.copyOf(patch);
        config = config == null ? Map.of() : Map.copyOf(config);
    }

    @Override
    public String toString() {
        return "ExternalBackendConfig[type=" + type + ", patch=" + patch.keySet() + ", config=<" + config.size()
                + " keys>]";
    }
}
