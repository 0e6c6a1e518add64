package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where {@code --backend-type} sends data blobs instead of the target registry. Only {@code localfs} is built in:
 * the blob is copied to {@code <dir>/<hex>}, which the localfs backend of nydusd reads.
 */
public interface ExternalBlobBackend {
    /** Stores blob {@code hex}; false when it was already there. */
    boolean push(String hex, Path file) throws IOException;

    String describe();

    /**
     * Parses {@code --backend-type} / {@code --backend-config}.
     *
     * @throws IllegalArgumentException for unknown types, oss/s3 (no push support in this build) or a bad config
     */
    static ExternalBlobBackend of(String type, String configJson) {
        if (configJson == null || configJson.isBlank()) {
            throw new IllegalArgumentException("--backend-type " + type + " needs --backend-config or --backend-config-file");
        }
        JsonNode config;
        try {
            config = Manifest.JSON.readTree(configJson);
        } catch (IOException e) {
            throw new IllegalArgumentException("--backend-config is not valid JSON: " + e.getMessage(), e);
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
            case "s3":
                throw new IllegalArgumentException("--backend-type " + type + ": pushing blobs to " + type
                        + " needs the nydus-backend-" + type + " module with upload support, which this build does"
                        + " not have; use localfs or the registry (no --backend-type)");
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
    }
}
