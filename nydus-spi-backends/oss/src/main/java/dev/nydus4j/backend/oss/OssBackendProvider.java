package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.ObjectHttp;
import dev.nydus4j.backend.objectstorage.ObjectHttpPool;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code oss} backend (BACKENDS.md 3): objects {@code <scheme>://<bucket>.<endpoint>/<prefix><blob id>}
 * (virtual-hosted) read with Range GETs carrying {@code Date} and an OSS V1 HMAC-SHA1 {@code Authorization};
 * every request is signed, even with empty keys, as upstream. Thread-safe.
 */
public final class OssBackendProvider implements BlobBackendProvider<OssConfig> {
    private final ObjectHttpPool clients;

    public OssBackendProvider() {
        this(System.getenv());
    }

    /** With another environment ({@code NYDUS_HEADER_*}); for embedders and tests. */
    public OssBackendProvider(Map<String, String> env) {
        this.clients = new ObjectHttpPool("oss", env);
    }

    @Override
    public String type() {
        return "oss";
    }

    @Override
    public Class<OssConfig> configType() {
        return OssConfig.class;
    }

    /** {@code retry_limit}: extra attempts of a failed read, made by the core's retry wrapper. */
    @Override
    public int retryLimit(OssConfig config) {
        return config.retryLimit();
    }

    @Override
    public void validate(OssConfig config) {
        Objects.requireNonNull(config, "config is null");
        config.check();
        ObjectHttpPool.checkReadable(config.caCertFiles());
    }

    @Override
    public BlobBackend open(OssConfig config, String blobId, BackendContext context) throws IOException {
        validate(config);
        if (blobId == null || blobId.isEmpty() || blobId.contains("/")) {
            throw new IllegalArgumentException("invalid blob id '" + blobId + "' for oss backend");
        }
        String key = config.objectPrefix() + blobId;
        URI uri;
        try {
            uri = URI.create(config.scheme() + "://" + config.bucketName() + "." + config.endpoint() + "/" + key);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("oss backend: object_prefix '" + config.objectPrefix()
                    + "' does not form a valid URL path: " + e.getMessage(), e);
        }
        ObjectHttp http = clients.client(config, context.instanceId(), config.skipVerify(), config.caCertFiles(),
                config.timeoutSecs(), config.connectTimeoutSecs(), config.proxy());
        return new ObjectBlobBackend("oss", blobId, uri, "oss://" + config.bucketName() + "/" + key, http,
                signer(config, "/" + config.bucketName() + "/" + key, context.clock()));
    }

    static ObjectBlobBackend.Signer signer(OssConfig config, String canonicalResource, Clock clock) {
        return (method, uri, headers) -> {
            TreeMap<String, String> h = new TreeMap<>(headers);
            String date = OssSigner.DATE.format(clock.instant());
            // Content-MD5 / Content-Type are signed when sent (multipart parts carry Content-MD5); the
            // sub-resources of the query (uploads, partNumber, uploadId) join the canonical resource
            String sts = OssSigner.stringToSign(method, h.getOrDefault("content-md5", ""),
                    h.getOrDefault("content-type", ""), date, h,
                    OssSigner.canonicalResource(canonicalResource, uri.getRawQuery()));
            h.put("date", date);
            h.put("authorization", OssSigner.authorization(config.accessKeyId(),
                    OssSigner.signature(config.accessKeySecret(), sts)));
            return h;
        };
    }
}
