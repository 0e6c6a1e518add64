package dev.nydus4j.snapshotter;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of containerd-nydus-grpc (upstream's TOML keys and flags, SNAPSHOTTER.md 6). Immutable; validated here.
 *
 * @param root           snapshotter home ({@code root}, {@code --root})
 * @param address        gRPC socket ({@code address}, {@code --address})
 * @param nydusdConfig   nydusd JSON template ({@code daemon.nydusd_config}, {@code --nydusd-config}); null serves
 *                       every image as plain OCI
 * @param nydusdPath     nydusd binary ({@code daemon.nydusd_path}, {@code --nydusd-path}); a bare name is looked
 *                       up on PATH
 * @param daemonMode     one nydusd per image, or one for all
 * @param threads        nydusd {@code --thread-num} ({@code daemon.threads_number}); 0 = nydusd's default
 * @param nydusdLogLevel nydusd {@code --log-level}
 * @param recoverPolicy  what happens when a nydusd dies ({@code daemon.recover_policy}): nothing, a restart that
 *                       mounts again, or a failover to a new nydusd that takes the FUSE session over
 * @param volatileUpper  {@code snapshot.enable_overlayfs_volatile}
 * @param cleanupOnClose stop daemons and unmount at exit ({@code cleanup_on_close})
 * @param dockerConfig   docker config.json for registry auth ({@code $HOME/.docker/config.json})
 * @param failoverPolicy nydusd {@code --failover-policy} ({@code daemon.failover_policy}): what a daemon taking a
 *                       session over does with the requests the dead one had read: {@code resend} (default),
 *                       {@code flush} or {@code none}
 */
public record SnapshotterConfig(Path root, Path address, Path nydusdConfig, String nydusdPath, DaemonMode daemonMode,
                                int threads, String nydusdLogLevel, RecoverPolicy recoverPolicy, boolean volatileUpper,
                                boolean cleanupOnClose, Path dockerConfig, String failoverPolicy) {
    /** {@code daemon.failover_policy} values nydusd accepts. */
    public static final java.util.List<String> FAILOVER_POLICIES = java.util.List.of("none", "resend", "flush");
    public static final Path DEFAULT_ROOT = Path.of("/var/lib/containerd-nydus");
    public static final Path DEFAULT_ADDRESS = Path.of("/run/containerd-nydus/containerd-nydus-grpc.sock");

    /** {@code daemon_mode}: {@code multiple} is upstream's legacy alias of dedicated. */
    public enum DaemonMode {
        DEDICATED, SHARED;

        public static DaemonMode parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "dedicated", "multiple" -> DEDICATED;
                case "shared" -> SHARED;
                default -> throw new IllegalArgumentException("daemon_mode '" + s
                        + "' is not supported; use dedicated (alias multiple) or shared");
            };
        }
    }

    /**
     * {@code daemon.recover_policy}: {@code none} drops a dead daemon's images; {@code restart} starts a new daemon
     * and mounts again (containers using the old mount see a dead mount until they restart); {@code failover}
     * starts a new daemon with {@code --upgrade} that takes the FUSE session over from the supervisor socket the
     * dead one saved it to, so the mount stays and the containers go on (SNAPSHOTTER.md 4).
     */
    public enum RecoverPolicy {
        NONE, RESTART, FAILOVER;

        public static RecoverPolicy parse(String s) {
            return switch (s) {
                case "none" -> NONE;
                case "restart" -> RESTART;
                case "failover" -> FAILOVER;
                default -> throw new IllegalArgumentException("daemon.recover_policy '" + s
                        + "' is not supported; use none, restart or failover");
            };
        }
    }

    /** Without a failover policy: upstream's default, {@code resend}. */
    public SnapshotterConfig(Path root, Path address, Path nydusdConfig, String nydusdPath, DaemonMode daemonMode,
                             int threads, String nydusdLogLevel, RecoverPolicy recoverPolicy, boolean volatileUpper,
                             boolean cleanupOnClose, Path dockerConfig) {
        this(root, address, nydusdConfig, nydusdPath, daemonMode, threads, nydusdLogLevel, recoverPolicy,
                volatileUpper, cleanupOnClose, dockerConfig, "resend");
    }

    /** The former shape: {@code recoverRestart} true is {@code restart}, false {@code none}. */
    public SnapshotterConfig(Path root, Path address, Path nydusdConfig, String nydusdPath, DaemonMode daemonMode,
                             int threads, String nydusdLogLevel, boolean recoverRestart, boolean volatileUpper,
                             boolean cleanupOnClose, Path dockerConfig) {
        this(root, address, nydusdConfig, nydusdPath, daemonMode, threads, nydusdLogLevel,
                recoverRestart ? RecoverPolicy.RESTART : RecoverPolicy.NONE, volatileUpper, cleanupOnClose,
                dockerConfig);
    }

    /** Whether a dead daemon is replaced (restart or failover). */
    public boolean recoverRestart() {
        return recoverPolicy != RecoverPolicy.NONE;
    }

    public SnapshotterConfig {
        Objects.requireNonNull(recoverPolicy, "recoverPolicy is null");
        Objects.requireNonNull(root, "root is null");
        Objects.requireNonNull(address, "address is null");
        Objects.requireNonNull(nydusdPath, "nydusdPath is null");
        Objects.requireNonNull(daemonMode, "daemonMode is null");
        Objects.requireNonNull(nydusdLogLevel, "nydusdLogLevel is null");
        if (!FAILOVER_POLICIES.contains(failoverPolicy)) {
            throw new IllegalArgumentException("daemon.failover_policy '" + failoverPolicy
                    + "' is not supported; use none, resend or flush");
        }
        if (threads < 0 || threads > 1024) {
            throw new IllegalArgumentException("daemon.threads_number must be 0..1024, got " + threads);
        }
        if (address.toAbsolutePath().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
            throw new IllegalArgumentException("address " + address + " is longer than a Unix socket path may be"
                    + " (107 bytes)");
        }
    }

    /** Defaults: upstream's root and address, dedicated daemons, nydusd from PATH. */
    public static SnapshotterConfig defaults() {
        return new SnapshotterConfig(DEFAULT_ROOT, DEFAULT_ADDRESS, null, "nydusd", DaemonMode.DEDICATED, 0, "info",
                RecoverPolicy.RESTART, false, false, defaultDockerConfig());
    }

    static Path defaultDockerConfig() {
        String home = System.getenv("HOME");
        return Path.of(home == null || home.isEmpty() ? "/root" : home, ".docker", "config.json");
    }
}
