package dev.nydus4j.backend.objectstorage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The HTTP clients of one object-storage provider: blobs opened with an equal config and instance id share one
 * client (one connection pool, as upstream's one client per backend instance); each blob holds one reference and
 * the client goes away with the last. Thread-safe.
 */
public final class ObjectHttpPool {
    private final String type;
    private final Map<String, String> env;
    private final Map<List<Object>, ObjectHttp> clients = new HashMap<>(); // guarded by this

    /**
     * @param type backend type, for messages
     * @param env  environment ({@code NYDUS_HEADER_*})
     */
    public ObjectHttpPool(String type, Map<String, String> env) {
        this.type = Objects.requireNonNull(type, "type is null");
        this.env = Map.copyOf(Objects.requireNonNull(env, "env is null"));
    }

    /**
     * The shared client for {@code config} (any value with a meaningful {@code equals}, normally the config record)
     * and {@code instanceId}, created with the given transport settings on first use.
     */
    public synchronized ObjectHttp client(Object config, String instanceId, boolean skipVerify,
                                          List<String> caCertFiles, int timeoutSecs, int connectTimeoutSecs,
                                          ProxyConfig proxy) throws IOException {
        List<Object> key = List.of(config, instanceId);
        ObjectHttp shared = clients.get(key);
        if (shared != null && shared.retain()) {
            return shared;
        }
        ObjectHttp[] created = new ObjectHttp[1];
        created[0] = new ObjectHttp(type, skipVerify, caCertFiles, timeoutSecs, connectTimeoutSecs, proxy, env,
                () -> forget(key, created[0]));
        clients.put(key, created[0]);
        return created[0];
    }

    private synchronized void forget(List<Object> key, ObjectHttp client) {
        clients.remove(key, client);
    }

    /** Fails naming the file when a {@code ca_cert_files} entry cannot be read (checked when a config is bound). */
    public static void checkReadable(List<String> caCertFiles) {
        for (String file : caCertFiles) {
            if (!Files.isReadable(Path.of(file))) {
                throw new IllegalArgumentException("ca_cert_files: cannot read '" + file + "'");
            }
        }
    }
}
