package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;

/**
 * Registry credentials from a docker {@code config.json} ({@code auths.<host>.auth}, or {@code username} and
 * {@code password}), as upstream's snapshotter reads them. Keys may carry a scheme and a path
 * ({@code https://index.docker.io/v1/}). The file is read on every lookup so that a {@code docker login} takes
 * effect without a restart. Stateless apart from the path.
 */
final class DockerAuth {
    private static final long MAX_BYTES = 1 << 20;
    private final Path file;

    DockerAuth(Path file) {
        this.file = file;
    }

    /** base64("user:password") for {@code host}, or null when the file or an entry for the host is missing. */
    String lookup(String host) throws IOException {
        if (file == null || !Files.isRegularFile(file)) {
            return null;
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException("docker config " + file + " is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode auths = StateFile.JSON.readTree(Files.readAllBytes(file)).path("auths");
        for (Iterator<Map.Entry<String, JsonNode>> it = auths.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (hostOf(e.getKey()).equals(host) || (host.equals("index.docker.io")
                    && hostOf(e.getKey()).equals("docker.io"))) {
                JsonNode entry = e.getValue();
                String auth = entry.path("auth").asText("");
                if (!auth.isEmpty()) {
                    return auth;
                }
                String user = entry.path("username").asText("");
                if (!user.isEmpty()) {
                    String pair = user + ":" + entry.path("password").asText("");
                    return Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return null;
    }

    private static String hostOf(String key) {
        String k = key;
        int scheme = k.indexOf("://");
        if (scheme >= 0) {
            k = k.substring(scheme + 3);
        }
        int slash = k.indexOf('/');
        return slash >= 0 ? k.substring(0, slash) : k;
    }
}
