package dev.nydus4j.storage.config;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import java.io.IOException;
import java.util.Map;

/** A backend plugin registered through META-INF/services, to prove config files accept plugin types. */
public final class PluginBackendProvider implements BlobBackendProvider<Map> {
    @Override
    public String type() {
        return "plugin-test";
    }

    @Override
    public Class<Map> configType() {
        return Map.class;
    }

    @Override
    public BlobBackend open(Map config, String blobId, BackendContext context) throws IOException {
        throw new IOException("plugin-test backend opens nothing");
    }
}
