package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ObjectHttp;
import dev.nydus4j.backend.objectstorage.ObjectHttpPool;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code s3} backend (BACKENDS.md 4): objects {@code <scheme>://<endpoint>/<bucket>/<prefix><blob id>} (path
 * style) read with Range GETs signed with AWS SigV4 (service {@code s3}, payload hash of the empty body).
 * {@code Host} is sent and signed as {@code host[:port]} (BACKENDS.md 12 C3); the object key is URI-encoded per
 * segment. With both keys empty requests go unsigned (anonymous public buckets). Thread-safe.
 */
public final class S3BackendProvider implements BlobBackendProvider<S3Config> {
    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final ObjectHttpPool clients;

    public S3BackendProvider() {
        this(System.getenv());
    }

    /** With another environment ({@code NYDUS_HEADER_*}); for embedders and tests. */
    public S3BackendProvider(Map<String, String> env) {
        this.clients = new ObjectHttpPool("s3", env);
    }

    @Override
    public String type() {
        return "s3";
    }

    @Override
    public Class<S3Config> configType() {
        return S3Config.class;
    }

    /** {@code retry_limit}: extra attempts of a failed read, made by the core's retry wrapper. */
    @Override
    public int retryLimit(S3Config config) {
        return config.retryLimit();
    }

    @Override
    public void validate(S3Config config) {
        Objects.requireNonNull(config, "config is null");
        config.check();
        ObjectHttpPool.checkReadable(config.caCertFiles());
    }

    @Override
    public BlobBackend open(S3Config config, String blobId, BackendContext context) throws IOException {
        validate(config);
        if (blobId == null || blobId.isEmpty() || blobId.contains("/")) {
            throw new IllegalArgumentException("invalid blob id '" + blobId + "' for s3 backend");
        }
        String key = config.objectPrefix() + blobId;
        URI uri = URI.create(config.scheme() + "://" + config.endpoint() + "/" + SigV4.encodePath(config.bucketName())
                + "/" + SigV4.encodePath(key));
        ObjectHttp http = clients.client(config, context.instanceId(), config.skipVerify(), config.caCertFiles(),
                config.timeoutSecs(), config.connectTimeoutSecs(), config.proxy());
        return new ObjectBlobBackend("s3", blobId, uri, "s3://" + config.bucketName() + "/" + key, http,
                signer(config, context.clock()));
    }

    static ObjectBlobBackend.Signer signer(S3Config config, Clock clock) {
        boolean anonymous = config.accessKeyId().isEmpty() && config.accessKeySecret().isEmpty();
        return (method, uri, headers) -> {
            TreeMap<String, String> h = new TreeMap<>(headers);
            if (anonymous) {
                return h;
            }
            h.put("host", uri.getRawAuthority());
            h.putIfAbsent("x-amz-content-sha256", SigV4.EMPTY_SHA256); // uploads give their body's hash
            h.put("x-amz-date", AMZ_DATE.format(clock.instant()));
            String query = SigV4.canonicalQuery(uri.getRawQuery());
            SigV4.Signature s = SigV4.sign(method, uri.getRawPath(), query, h, h.get("x-amz-content-sha256"),
                    config.accessKeyId(), config.accessKeySecret(), config.region(), "s3", h.get("x-amz-date"));
            h.put("authorization", s.authorization());
            return h;
        };
    }
}
