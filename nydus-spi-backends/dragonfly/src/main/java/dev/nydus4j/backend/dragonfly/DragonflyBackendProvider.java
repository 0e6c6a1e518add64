package dev.nydus4j.backend.dragonfly;

import dev.nydus4j.backend.registry.RegistryBackendProvider;
import dev.nydus4j.backend.registry.RegistryConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code dragonfly} backend: the proxy contract of BACKENDS.md 8 on its own. Every blob request (Range GET,
 * HEAD) is sent through dfdaemon's HTTP proxy as an absolute-form request for the origin URL with
 * {@code X-Dragonfly-Priority} and {@code X-Dragonfly-Use-P2P}; {@code ping_url} is polled every
 * {@code check_interval} s; with {@code fallback} a transport error, a 5xx or an unhealthy proxy sends the request
 * directly to the origin. The routing, auth, TLS, timeouts and retries are the registry backend's: this provider
 * only maps its config onto a {@link RegistryConfig} with that proxy and delegates (no copy of the HTTP code).
 * Thread-safe; blobs with an equal config and instance id share one connection.
 */
public final class DragonflyBackendProvider implements BlobBackendProvider<DragonflyConfig> {
    private static final Pattern BLOB_ID = Pattern.compile("[0-9a-f]{64}");

    private final RegistryBackendProvider http;

    public DragonflyBackendProvider() {
        this(System.getenv());
    }

    /** With another environment (docker config location, {@code NYDUS_HEADER_*}); for embedders and tests. */
    public DragonflyBackendProvider(Map<String, String> env) {
        this.http = new RegistryBackendProvider(env);
    }

    @Override
    public String type() {
        return "dragonfly";
    }

    @Override
    public Class<DragonflyConfig> configType() {
        return DragonflyConfig.class;
    }

    /** Reads (the registry backend's) apply {@code retry_limit} with back-off per HTTP request themselves: the core must not wrap them. */
    @Override
    public boolean retriesInternally() {
        return true;
    }

    @Override
    public void validate(DragonflyConfig config) {
        Objects.requireNonNull(config, "config is null");
        http.validate(transport(config));
    }

    @Override
    public BlobBackend open(DragonflyConfig config, String blobId, BackendContext context) throws IOException {
        Objects.requireNonNull(config, "config is null");
        if (!BLOB_ID.matcher(blobId).matches()) {
            throw new IllegalArgumentException("invalid blob id '" + blobId + "' for dragonfly backend: expected 64"
                    + " lowercase hex characters without 'sha256:'");
        }
        if (config.registry() != null) {
            return http.open(transport(config), blobId, context);
        }
        URI origin = DragonflyConfig.origin(config.blobUrl(), blobId);
        RegistryConfig c = transport(config).withImage(origin.getRawAuthority(), "")
                .withTls(origin.getScheme(), config.http().skipVerify(), config.http().caCertFiles());
        String path = origin.getRawPath() + (origin.getRawQuery() == null ? "" : "?" + origin.getRawQuery());
        return http.openPath(c, path, blobId, context);
    }

    /** The registry-backend config that carries the origin's settings and the dragonfly proxy. */
    private static RegistryConfig transport(DragonflyConfig config) {
        RegistryConfig base = config.registry() != null ? config.registry() : config.http();
        return base.withProxy(config.proxy(), List.of());
    }
}
