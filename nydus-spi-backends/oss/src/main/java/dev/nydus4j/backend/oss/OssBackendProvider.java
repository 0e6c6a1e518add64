package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.ObjectHttp;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code oss} backend (BACKENDS.md 3): objects {@code <scheme>://<bucket>.<endpoint>/<prefix><blob id>}
 * (virtual-hosted) read with Range GETs carrying {@code Date} and an OSS V1 HMAC-SHA1 {@code Authorization};
 * every request is signed, even with empty keys, as upstream. Thread-safe.
 */
public final class OssBackendProvider implements BlobBackendProvider<OssConfig> {
    private final Map<String, String> env;
    private final Map<List<Object>, ObjectHttp> clients = new HashMap<>(); // guarded by this

    public OssBackendProvider() {
        this(System.getenv());
    }

    /** With another environment ({@code NYDUS_HEADER_*}); for embedders and tests. */
    public OssBackendProvider(Map<String, String> env) {
        this.env = Map.copyOf(Objects.requireNonNull(env, "env is null"));
    }

    /**
     * The client shared by the blobs opened with an equal config and instance id (one connection pool, as
     * upstream's one client per backend instance); each blob holds one reference.
     */
    private synchronized ObjectHttp client(OssConfig config, String instanceId) throws IOException {
        List<Object> key = List.of(config, instanceId);
        ObjectHttp shared = clients.get(key);
        if (shared != null && shared.retain()) {
            return shared;
        }
        ObjectHttp[] created = new ObjectHttp[1];
        created[0] = new ObjectHttp("oss", config.skipVerify(), config.caCertFiles(), config.timeoutSecs(),
                config.connectTimeoutSecs(), config.proxy(), env, () -> forget(key, created[0]));
        clients.put(key, created[0]);
        return created[0];
    }

    private synchronized void forget(List<Object> key, ObjectHttp client) {
        clients.remove(key, client);
    }

    @Override
    public String type() {
        return "oss";
    }

    @Override
    public Class<OssConfig> configType() {
        return OssConfig.class;
    }

    @Override
    public void validate(OssConfig config) {
        Objects.requireNonNull(config, "config is null");
        config.check();
        for (String file : config.caCertFiles()) {
            if (!Files.isReadable(Path.of(file))) {
                throw new IllegalArgumentException("ca_cert_files: cannot read '" + file + "'");
            }
        }
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
        ObjectHttp http = client(config, context.instanceId());
        return new ObjectBlobBackend("oss", blobId, uri, "oss://" + config.bucketName() + "/" + key, http,
                signer(config, "/" + config.bucketName() + "/" + key, context.clock()));
    }

    static ObjectBlobBackend.Signer signer(OssConfig config, String canonicalResource, Clock clock) {
        return (method, uri, headers) -> {
            TreeMap<String, String> h = new TreeMap<>(headers);
            String date = OssSigner.DATE.format(clock.instant());
            String sts = OssSigner.stringToSign(method, "", "", date, h, canonicalResource);
            h.put("date", date);
            h.put("authorization", OssSigner.authorization(config.accessKeyId(),
                    OssSigner.signature(config.accessKeySecret(), sts)));
            return h;
        };
    }
}
