package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;
import dev.nydus4j.backend.oss.OssBackendProvider;
import dev.nydus4j.backend.s3.S3BackendProvider;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Where {@code --backend-type} sends data blobs instead of the target registry (API spec 6.4): {@code localfs}
 * copies the blob to {@code <dir>/<hex>}; {@code oss} and {@code s3} upload it as object
 * {@code <object_prefix><hex>} with one signed PUT, through the same backend modules nydusd reads them with. The
 * config JSON is the one nydusd's backend takes (CONFIG.md), so the converted image mounts with it as is.
 */
public interface ExternalBlobBackend {
    /** Stores blob {@code hex} (the sha256 of {@code file}); false when it was already there. */
    boolean push(String hex, Path file) throws IOException;

    String describe();

    /** {@code localfs}, {@code oss} or {@code s3}. */
    String type();

    /** The backend config as nydusd takes it ({@code device.backend.config}). */
    JsonNode config();

    /** Opens blob {@code hex} for reading ({@code nydusify check}). */
    BlobBackend open(String hex) throws IOException;

    /** Parses {@code --backend-type} / {@code --backend-config}; pushes skip blobs already stored. */
    static ExternalBlobBackend of(String type, String configJson) {
        return of(type, configJson, false);
    }

    /**
     * Parses {@code --backend-type} / {@code --backend-config}.
     *
     * @param forcePush upload even when an object of the same size exists ({@code --backend-force-push})
     * @throws IllegalArgumentException for unknown types or a bad config
     */
    static ExternalBlobBackend of(String type, String configJson, boolean forcePush) {
        if (configJson == null || configJson.isBlank()) {
            throw new IllegalArgumentException("--backend-type " + type + " needs --backend-config or --backend-config-file");
        }
        JsonNode config;
        try {
            config = Manifest.JSON.readTree(configJson);
        } catch (IOException e) {
            throw new IllegalArgumentException("--backend-config is not valid JSON: " + e.getMessage(), e);
        }
        if (config == null || !config.isObject()) {
            throw new IllegalArgumentException("--backend-config must be a JSON object");
        }
        switch (type) {
            case "localfs": {
                String dir = config.path("dir").asText("");
                if (dir.isEmpty()) {
                    throw new IllegalArgumentException("localfs backend config needs \"dir\": {\"dir\":\"/path/to/blobs\"}");
                }
                return new LocalfsBlobBackend(Path.of(dir));
            }
            case "oss":
                return ObjectStoreBlobBackend.of(new OssBackendProvider(), (ObjectNode) config, forcePush);
            case "s3":
                return ObjectStoreBlobBackend.of(new S3BackendProvider(), (ObjectNode) config, forcePush);
            default:
                throw new IllegalArgumentException("unsupported --backend-type '" + type + "': expected localfs, oss or s3");
        }
    }

    /** {@code localfs}: blobs as files named by their sha256 hex in one directory. */
    record LocalfsBlobBackend(Path dir) implements ExternalBlobBackend {
        @Override
        public boolean push(String hex, Path file) throws IOException {
            Files.createDirectories(dir);
            Path dst = dir.resolve(hex);
            if (Files.isRegularFile(dst) && Files.size(dst) == Files.size(file)) {
                return false;
            }
            Path tmp = Files.createTempFile(dir, ".push-", ".tmp");
            try {
                Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return true;
        }

        @Override
        public String describe() {
            return "localfs:" + dir;
        }

        @Override
        public String type() {
            return "localfs";
        }

        @Override
        public JsonNode config() {
            return Manifest.JSON.createObjectNode().put("dir", dir.toAbsolutePath().toString());
        }

        @Override
        public BlobBackend open(String hex) throws IOException {
            return new dev.nydus4j.backend.localfs.LocalfsBackendProvider().open(
                    new dev.nydus4j.backend.localfs.LocalfsConfig(null, dir.toAbsolutePath().toString(), null),
                    hex, BackendContext.simple("nydusify"));
        }
    }

    /** {@code oss} / {@code s3}: one object per blob, uploaded with a signed PUT. */
    final class ObjectStoreBlobBackend<C> implements ExternalBlobBackend {
        /** Uploads take longer than range reads: without a configured timeout this one applies (seconds). */
        static final int UPLOAD_TIMEOUT_SECS = 120;

        private final BlobBackendProvider<C> provider;
        private final C parsed;
        private final ObjectNode config;
        private final boolean forcePush;

        private ObjectStoreBlobBackend(BlobBackendProvider<C> provider, C parsed, ObjectNode config,
                                       boolean forcePush) {
            this.provider = provider;
            this.parsed = parsed;
            this.config = config;
            this.forcePush = forcePush;
        }

        static <C> ObjectStoreBlobBackend<C> of(BlobBackendProvider<C> provider, ObjectNode json, boolean force) {
            ObjectNode config = json.deepCopy();
            if (!config.has("timeout")) {
                config.put("timeout", UPLOAD_TIMEOUT_SECS);
            }
            C parsed;
            try {
                parsed = Manifest.JSON.treeToValue(config, provider.configType());
                provider.validate(parsed);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(provider.type() + " backend config is invalid: " + e.getMessage(), e);
            }
            return new ObjectStoreBlobBackend<>(provider, parsed, config, force);
        }

        @Override
        public boolean push(String hex, Path file) throws IOException {
            long size = Files.size(file);
            try (BlobBackend b = open(hex)) {
                if (!forcePush) {
                    try {
                        if (b.size() == size) {
                            return false;
                        }
                    } catch (FileNotFoundException e) {
                        // not stored yet
                    }
                }
                if (!(b instanceof ObjectBlobBackend object)) {
                    throw new IOException(provider.type() + " backend cannot upload (no object store)");
                }
                // s3 signs the payload: the blob id is the sha256 of the file, so nothing is hashed twice
                object.put(file, "s3".equals(provider.type()) ? Map.of("x-amz-content-sha256", hex) : Map.of());
                return true;
            } catch (IOException e) {
                throw new IOException("cannot push blob sha256:" + hex + " (" + size + " bytes) to " + describe()
                        + ": " + e.getMessage(), e);
            }
        }

        @Override
        public String describe() {
            String prefix = config.path("object_prefix").asText("");
            return provider.type() + "://" + config.path("bucket_name").asText() + "/" + prefix;
        }

        @Override
        public String type() {
            return provider.type();
        }

        @Override
        public JsonNode config() {
            return config.deepCopy();
        }

        @Override
        public BlobBackend open(String hex) throws IOException {
            return provider.open(parsed, hex, BackendContext.simple("nydusify"));
        }
    }
}
