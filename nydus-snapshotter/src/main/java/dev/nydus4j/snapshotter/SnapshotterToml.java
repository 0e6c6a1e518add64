package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Reads upstream's snapshotter config.toml ({@code misc/snapshotter/config.toml}, SNAPSHOTTER.md 6) into a
 * {@link SnapshotterConfig}. Keys this snapshotter implements are applied; other keys upstream defines are accepted
 * and reported by {@link Result#ignored()}; anything else fails with its path. Stateless.
 */
public final class SnapshotterToml {
    private static final long MAX_BYTES = 1 << 20;
    private static final Set<String> IGNORED_SECTIONS = Set.of("system", "cgroup", "metrics", "remote",
            "cache_manager", "image", "experimental");
    private static final Set<String> IGNORED_KEYS = Set.of("version", "daemon.nydusimage_path",
            "daemon.log_rotation_size", "log.dir", "log.log_rotation_compress",
            "log.log_rotation_local_time", "log.log_rotation_max_age", "log.log_rotation_max_backups",
            "log.log_rotation_max_size", "snapshot.enable_kata_volume", "snapshot.sync_remove",
            "snapshot.nydus_overlayfs_path");

    /**
     * @param config   the settings, starting from the defaults given
     * @param logLevel {@code log.level}, or null
     * @param logToStdout {@code log.log_to_stdout}
     * @param ignored  upstream keys present but not implemented
     */
    public record Result(SnapshotterConfig config, String logLevel, boolean logToStdout, java.util.List<String> ignored) {
    }

    private SnapshotterToml() {
    }

    public static Result read(Path file, SnapshotterConfig base) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException("config " + file + " is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = new TomlMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("config " + file + " is not valid TOML: " + e.getMessage(), e);
        }
        Path rootDir = base.root();
        Path address = base.address();
        Path nydusdConfig = base.nydusdConfig();
        String nydusdPath = base.nydusdPath();
        SnapshotterConfig.DaemonMode mode = base.daemonMode();
        int threads = base.threads();
        SnapshotterConfig.RecoverPolicy recoverPolicy = base.recoverPolicy();
        String failoverPolicy = base.failoverPolicy();
        boolean volatileUpper = base.volatileUpper();
        boolean cleanup = base.cleanupOnClose();
        String logLevel = null;
        boolean logToStdout = false;
        java.util.List<String> ignored = new java.util.ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> top = it.next();
            String k = top.getKey();
            JsonNode v = top.getValue();
            if (v.isObject()) {
                if (IGNORED_SECTIONS.contains(k)) {
                    ignored.add(k);
                    continue;
                }
                for (Iterator<Map.Entry<String, JsonNode>> f = v.fields(); f.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = f.next();
                    String path = k + "." + e.getKey();
                    JsonNode x = e.getValue();
                    switch (path) {
                        case "daemon.nydusd_config" -> nydusdConfig = Path.of(text(path, x));
                        case "daemon.nydusd_path" -> nydusdPath = text(path, x);
                        case "daemon.threads_number" -> threads = x.asInt();
                        case "daemon.fs_driver" -> {
                            if (!text(path, x).equals("fusedev")) {
                                throw new IllegalArgumentException(file + ": daemon.fs_driver '" + x.asText()
                                        + "' is not supported; only fusedev is");
                            }
                        }
                        case "daemon.recover_policy" -> recoverPolicy = recoverPolicy(file, text(path, x));
                        case "daemon.failover_policy" -> failoverPolicy = failoverPolicy(file, text(path, x));
                        case "log.level" -> logLevel = text(path, x);
                        case "log.log_to_stdout" -> logToStdout = x.asBoolean();
                        case "snapshot.enable_overlayfs_volatile" -> volatileUpper = x.asBoolean();
                        case "snapshot.enable_nydus_overlayfs" -> {
                            if (x.asBoolean()) {
                                ignored.add(path + " (plain overlay mounts are returned; runc needs no helper)");
                            }
                        }
                        default -> {
                            if (!IGNORED_KEYS.contains(path)) {
                                throw new IllegalArgumentException(file + ": unknown key " + path);
                            }
                            ignored.add(path);
                        }
                    }
                }
                continue;
            }
            switch (k) {
                case "root" -> rootDir = Path.of(text(k, v));
                case "address" -> address = Path.of(text(k, v));
                case "daemon_mode" -> mode = SnapshotterConfig.DaemonMode.parse(text(k, v));
                case "cleanup_on_close" -> cleanup = v.asBoolean();
                case "version" -> {
                    if (v.asInt() != 1) {
                        throw new IllegalArgumentException(file + ": version " + v.asText() + " is not supported; use 1");
                    }
                }
                default -> throw new IllegalArgumentException(file + ": unknown key " + k);
            }
        }
        SnapshotterConfig c = new SnapshotterConfig(rootDir, address, nydusdConfig, nydusdPath, mode, threads,
                base.nydusdLogLevel(), recoverPolicy, volatileUpper, cleanup, base.dockerConfig(), failoverPolicy);
        return new Result(c, logLevel, logToStdout, ignored);
    }

    private static SnapshotterConfig.RecoverPolicy recoverPolicy(Path file, String policy) {
        try {
            return SnapshotterConfig.RecoverPolicy.parse(policy);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static String failoverPolicy(Path file, String policy) {
        if (!SnapshotterConfig.FAILOVER_POLICIES.contains(policy)) {
            throw new IllegalArgumentException(file + ": daemon.failover_policy '" + policy
                    + "' is not supported; use none, resend or flush");
        }
        return policy;
    }

    private static String text(String path, JsonNode v) {
        if (!v.isTextual()) {
            throw new IllegalArgumentException("config key " + path + " must be a string, got " + v.getNodeType());
        }
        return v.asText();
    }
}
