package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.backend.objectstorage.MultipartUpload;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;
import dev.nydus4j.backend.objectstorage.UploadRetry;
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
import java.time.Duration;
import java.util.Map;

/**
 * Where {@code --backend-type} sends data blobs instead of the target registry (API spec 6.4): {@code localfs}
 * copies the blob to {@code <dir>/<hex>}; {@code oss} and {@code s3} upload it as object
 * {@code <object_prefix><hex>}, through the same backend modules nydusd reads them with: with one signed PUT up to
 * 64 MiB (tried up to 4 times on 5xx and transport errors), above that in parts ({@link MultipartUpload}: 32 MiB
 * parts, 3 at a time, each retried the same way; aborted on final failure). The config JSON
 * is the one nydusd's backend takes (CONFIG.md), so the converted image mounts with it as is; upstream nydusify's
 * upload keys {@code part_size} and {@code num_upload_threads} are taken too (and left out of nydusd's config).
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

    /**
     * {@code oss} / {@code s3}: one object per blob, uploaded with a signed PUT, or in parts above
     * {@link Upload#threshold()}.
     */
    final class ObjectStoreBlobBackend<C> implements ExternalBlobBackend {
        /** Uploads take longer than range reads: without a configured timeout this one applies (seconds). */
        static final int UPLOAD_TIMEOUT_SECS = 120;
        /** Upstream nydusify's s3 config keys for uploads; nydusd's backend does not take them. */
        static final String PART_SIZE_KEY = "part_size";
        static final String THREADS_KEY = "num_upload_threads";

        /**
         * How blobs are uploaded.
         *
         * @param threshold blobs larger than this go in parts
         * @param partSize  bytes per part (raised when a blob would need more than 10000 parts)
         * @param threads   parts in flight at once
         * @param attempts  tries of each upload request (single PUT or multipart step)
         * @param backoff   pause before the second try (doubled for each further one)
         */
        record Upload(long threshold, long partSize, int threads, int attempts, Duration backoff) {
            static final long DEFAULT_THRESHOLD = 64L << 20;
            static final long DEFAULT_PART_SIZE = 32L << 20;
            static final int DEFAULT_THREADS = 3;

            Upload {
                if (threshold < 0 || partSize <= 0 || partSize > MultipartUpload.MAX_PART_SIZE) {
                    throw new IllegalArgumentException("upload threshold " + threshold + " / part size " + partSize
                            + " out of range (part size 1.." + MultipartUpload.MAX_PART_SIZE + ")");
                }
            }

            /**
             * The defaults, or the config's {@code part_size} (which then is also the threshold, as upstream's
             * uploader) and {@code num_upload_threads}; the system properties {@code nydus4j.upload.threshold} and
             * {@code nydus4j.upload.partSize} (bytes) override both, without the 5 MiB floor (tests).
             */
            static Upload of(String type, ObjectNode config) {
                long threshold = DEFAULT_THRESHOLD;
                long partSize = DEFAULT_PART_SIZE;
                int threads = DEFAULT_THREADS;
                if (config.has(PART_SIZE_KEY)) {
                    partSize = integer(type, config, PART_SIZE_KEY, MultipartUpload.MIN_PART_SIZE,
                            MultipartUpload.MAX_PART_SIZE);
                    threshold = partSize;
                }
                if (config.has(THREADS_KEY)) {
                    threads = (int) integer(type, config, THREADS_KEY, 1, 16);
                }
                threshold = Long.getLong("nydus4j.upload.threshold", threshold);
                partSize = Long.getLong("nydus4j.upload.partSize", partSize);
                return new Upload(threshold, partSize, threads, 4, Duration.ofMillis(500));
            }

            private static long integer(String type, ObjectNode config, String key, long min, long max) {
                JsonNode n = config.get(key);
                if (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
                    throw new IllegalArgumentException(type + " backend config: \"" + key + "\" must be an integer in "
                            + min + ".." + max + ", got " + n);
                }
                return n.asLong();
            }
        }

        private final BlobBackendProvider<C> provider;
        private final C parsed;
        private final ObjectNode config;
        private final boolean forcePush;
        private final Upload upload;

        private ObjectStoreBlobBackend(BlobBackendProvider<C> provider, C parsed, ObjectNode config,
                                       boolean forcePush, Upload upload) {
            this.provider = provider;
            this.parsed = parsed;
            this.config = config;
            this.forcePush = forcePush;
            this.upload = upload;
        }

        static <C> ObjectStoreBlobBackend<C> of(BlobBackendProvider<C> provider, ObjectNode json, boolean force) {
            return of(provider, json, force, null);
        }

        /** With the given upload settings ({@code null}: from the config and system properties). */
        static <C> ObjectStoreBlobBackend<C> of(BlobBackendProvider<C> provider, ObjectNode json, boolean force,
                                                Upload upload) {
            ObjectNode config = json.deepCopy();
            if (!config.has("timeout")) {
                config.put("timeout", UPLOAD_TIMEOUT_SECS);
            }
            C parsed;
            try {
                if (upload == null) {
                    upload = Upload.of(provider.type(), config);
                }
                config.remove(PART_SIZE_KEY);
                config.remove(THREADS_KEY);
                parsed = Manifest.JSON.treeToValue(config, provider.configType());
                provider.validate(parsed);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException(provider.type() + " backend config is invalid: " + e.getMessage(), e);
            }
            return new ObjectStoreBlobBackend<>(provider, parsed, config, force, upload);
        }

        Upload upload() {
            return upload;
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
                boolean s3 = "s3".equals(provider.type());
                if (size > upload.threshold()) {
                    MultipartUpload.upload(object, file, new MultipartUpload.Options(
                            MultipartUpload.partSizeFor(size, upload.partSize()), upload.threads(), upload.attempts(),
                            upload.backoff(), s3 ? MultipartUpload.PayloadDigest.SHA256
                            : MultipartUpload.PayloadDigest.MD5));
                    return true;
                }
                // s3 signs the payload: the blob id is the sha256 of the file, so nothing is hashed twice
                Map<String, String> headers = s3 ? Map.of("x-amz-content-sha256", hex) : Map.of();
                UploadRetry.run("PUT of " + hex, upload.attempts(), upload.backoff(), () -> {
                    object.put(file, headers);
                    return null;
                });
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
