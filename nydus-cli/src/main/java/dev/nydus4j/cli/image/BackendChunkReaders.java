package dev.nydus4j.cli.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.api.config.BackendConfig;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.device.BlobDevice;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Chunk readers over a storage backend for the tools' {@code --backend-type/--backend-config[-file]} flags (API
 * spec 4.7): every fetched chunk is digest-verified, nothing is cached.
 */
final class BackendChunkReaders {
    private BackendChunkReaders() {
    }

    static ChunkReader open(String type, String configJson, Path configFile) throws IOException {
        if (type == null) {
            throw new IllegalArgumentException("--backend-config needs --backend-type");
        }
        if (configJson != null && configFile != null) {
            throw new IllegalArgumentException("give --backend-config or --backend-config-file, not both");
        }
        String text = configFile != null ? Files.readString(configFile, StandardCharsets.UTF_8)
                : configJson != null ? configJson : "{}";
        JsonNode node;
        try {
            node = new ObjectMapper().readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("backend config is not valid JSON: " + e.getOriginalMessage(), e);
        }
        return open(type, node, "backend-config");
    }

    /** A reader over the backend of a nydusd config ({@code check -C}). */
    static ChunkReader open(NydusdConfig config, String source) throws IOException {
        BackendConfig b = config.backend();
        if (b == null) {
            throw new IllegalArgumentException("the config " + source + " has no backend");
        }
        return open(b.type(), new ObjectMapper().valueToTree(b.config()), "backend." + b.type());
    }

    private static ChunkReader open(String type, JsonNode node, String path) throws IOException {
        BackendRegistry registry = BackendRegistry.discover();
        Object bound = registry.bindConfig(type, node, path);
        BackendContext ctx = BackendContext.simple("/");
        return new BlobDevice(id -> registry.open(type, bound, id, ctx), null, true);
    }
}
