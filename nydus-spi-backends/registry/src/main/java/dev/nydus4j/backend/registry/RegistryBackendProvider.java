package dev.nydus4j.backend.registry;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code registry} backend (BACKENDS.md 2): blobs read with Range GETs from an OCI distribution registry.
 * Blobs opened with an equal config and instance id share one connection (auth state, token, redirect cache,
 * health checks), closed when the last of them is closed. Thread-safe.
 */
public final class RegistryBackendProvider implements BlobBackendProvider<RegistryConfig> {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryBackendProvider.class);
    private static final Pattern BLOB_ID = Pattern.compile("[0-9a-f]{64}");

    private final Map<String, String> env;
    private final Map<Key, RegistryConnection> connections = new HashMap<>(); // guarded by this

    public RegistryBackendProvider() {
        this(System.getenv());
    }

    /** With another environment (docker config location, {@code NYDUS_HEADER_*}); for embedders and tests. */
    public RegistryBackendProvider(Map<String, String> env) {
        this.env = Map.copyOf(Objects.requireNonNull(env, "env is null"));
    }

    @Override
    public String type() {
        return "registry";
    }

    @Override
    public Class<RegistryConfig> configType() {
        return RegistryConfig.class;
    }

    /** Reads apply {@code retry_limit} with back-off per HTTP request themselves: the core must not wrap them. */
    @Override
    public boolean retriesInternally() {
        return true;
    }

    /**
     * Accepts configs without host and repo: the snapshotter fills them in per image (CONFIG.md 12 A1). Checks
     * that every {@code ca_cert_files} entry is readable, so a typo fails at startup rather than at the first read.
     */
    @Override
    public void validate(RegistryConfig config) {
        Objects.requireNonNull(config, "config is null");
        for (String file : config.caCertFiles()) {
            if (!Files.isReadable(Path.of(file))) {
                throw new IllegalArgumentException("ca_cert_files: cannot read '" + file + "'");
            }
        }
    }

    @Override
    public BlobBackend open(RegistryConfig config, String blobId, BackendContext context) throws IOException {
        validate(config);
        if (config.host().isEmpty() || config.repo().isEmpty()) {
            throw new IllegalArgumentException("registry backend needs 'host' and 'repo' to open blob " + blobId
                    + " (got host='" + config.host() + "', repo='" + config.repo() + "'); they are normally filled in"
                    + " per image by the snapshotter from the image reference");
        }
        if (!BLOB_ID.matcher(blobId).matches()) {
            throw new IllegalArgumentException("invalid blob id '" + blobId + "' for registry backend: expected 64"
                    + " lowercase hex characters without 'sha256:'");
        }
        RegistryConnection connection = connection(effective(config), context.instanceId());
        return new RegistryBlobBackend(connection, blobId, context);
    }

    /**
     * Opens a blob served at {@code path} (absolute path plus optional query, starting with {@code /}) on
     * {@code config.host()}, with everything else of the registry backend: Range reads, auth flow, TLS, timeouts,
     * retries, redirects, proxy routing with health checks. For origins that are plain HTTP blob servers (the
     * {@code dragonfly} backend's {@code blob_url}); {@code config.repo()} is ignored.
     */
    public BlobBackend openPath(RegistryConfig config, String path, String blobId, BackendContext context)
            throws IOException {
        validate(config);
        if (config.host().isEmpty()) {
            throw new IllegalArgumentException("no host to open blob " + blobId + " at path " + path);
        }
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("blob path must start with '/', got '" + path + "' for blob " + blobId);
        }
        RegistryConnection connection = connection(effective(config.withImage(config.host(), "")),
                context.instanceId());
        return new RegistryBlobBackend(connection, blobId, path, context);
    }

    private RegistryConfig effective(RegistryConfig config) {
        if (!config.auth().isEmpty() || !config.registryToken().isEmpty()) {
            return config;
        }
        return DockerConfigAuth.lookup(config.host(), env).map(config::withAuth).orElse(config);
    }

    private synchronized RegistryConnection connection(RegistryConfig config, String instanceId) throws IOException {
        Key key = new Key(config, instanceId);
        RegistryConnection existing = connections.get(key);
        if (existing != null && existing.retain()) {
            return existing;
        }
        RegistryTransport transport = new RegistryTransport(config, env);
        RegistryConnection created = new RegistryConnection(transport, config.repo(), c -> dropConnection(key, c));
        created.retain();
        connections.put(key, created);
        LOG.debug("registry connection opened: {} for instance {}", config, instanceId);
        return created;
    }

    private synchronized void dropConnection(Key key, RegistryConnection connection) {
        connections.remove(key, connection);
    }

    private record Key(RegistryConfig config, String instanceId) {
    }
}
