package dev.nydus4j.backend.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Looks up {@code auths[host].auth} in {@code $DOCKER_CONFIG/config.json} or {@code $HOME/.docker/config.json},
 * for configs without {@code auth} (what nydus-snapshotter would have filled in). Credential helpers are not run.
 */
final class DockerConfigAuth {
    private static final Logger LOG = LoggerFactory.getLogger(DockerConfigAuth.class);
    /** Docker config files are small; anything bigger is not one. */
    private static final long MAX_CONFIG_BYTES = 4 << 20;

    private DockerConfigAuth() {
    }

    /** The base64 {@code user:password} for {@code host}, if a docker config holds one. */
    static Optional<String> lookup(String host, Map<String, String> env) {
        Path file = configFile(env);
        if (file == null || !Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                LOG.warn("ignoring docker config {}: larger than {} bytes", file, MAX_CONFIG_BYTES);
                return Optional.empty();
            }
            JsonNode auths = new ObjectMapper().readTree(file.toFile()).path("auths");
            for (String key : candidates(host)) {
                String auth = auths.path(key).path("auth").asText("").trim();
                if (!auth.isEmpty()) {
                    LOG.debug("using credentials for {} from {}", host, file);
                    return Optional.of(auth);
                }
            }
        } catch (IOException e) {
            // a broken docker config must not stop anonymous pulls; say why credentials were not used
            LOG.warn("ignoring unreadable docker config {}: {}", file, e.getMessage());
        }
        return Optional.empty();
    }

    private static Path configFile(Map<String, String> env) {
        String dir = env.get("DOCKER_CONFIG");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir, "config.json");
        }
        String home = env.get("HOME");
        return home == null || home.isBlank() ? null : Path.of(home, ".docker", "config.json");
    }

    private static List<String> candidates(String host) {
        if (host.equals("index.docker.io") || host.equals("docker.io") || host.equals("registry-1.docker.io")) {
            return List.of("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io");
        }
        return List.of(host, "https://" + host, "http://" + host, "https://" + host + "/", "http://" + host + "/");
    }
}
