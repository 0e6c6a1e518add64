package dev.nydus4j.snapshotter.cli;

import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.SnapshotterServer;
import dev.nydus4j.snapshotter.SnapshotterToml;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code containerd-nydus-grpc}: runs the snapshotter until SIGTERM/SIGINT. Flags override the TOML file given with
 * {@code --config}, which overrides the defaults. Example (the seed's):
 * {@code containerd-nydus-grpc --nydusd-config /etc/nydus/nydusd-config.fusedev.json --log-to-stdout}.
 */
@Command(name = "containerd-nydus-grpc", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = ContainerdNydusGrpc.Version.class,
        description = "containerd remote snapshotter for Nydus images (gRPC on a Unix socket).")
public final class ContainerdNydusGrpc implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "TOML", description = "snapshotter config (upstream's config.toml keys)")
    Path config;
    @Option(names = {"--nydusd-config", "--config-path"}, paramLabel = "JSON",
            description = "nydusd config template; without it every image is served as plain OCI")
    Path nydusdConfig;
    @Option(names = "--root", paramLabel = "DIR", description = "snapshotter home (default /var/lib/containerd-nydus)")
    Path root;
    @Option(names = "--address", paramLabel = "SOCKET",
            description = "gRPC socket (default /run/containerd-nydus/containerd-nydus-grpc.sock)")
    Path address;
    @Option(names = {"--nydusd-path", "--nydusd"}, paramLabel = "PATH", description = "nydusd binary (default: nydusd on PATH, else the nydusd beside this launcher)")
    String nydusdPath;
    @Option(names = "--daemon-mode", paramLabel = "MODE", description = "dedicated (alias multiple) or shared")
    String daemonMode;
    @Option(names = "--recover-policy", paramLabel = "POLICY",
            description = "none, restart (default) or failover: what happens when a nydusd dies")
    String recoverPolicy;
    @Option(names = "--nydus-image", paramLabel = "PATH",
            description = "upstream's nydus-image binary (accepted; not used: no tarfs or conversion here)")
    String nydusImagePath;
    @Option(names = "--fs-driver", paramLabel = "DRIVER", description = "fusedev (the only driver supported)")
    String fsDriver;
    @Option(names = "--log-level", paramLabel = "LEVEL", description = "trace, debug, info, warn or error (default info)")
    String logLevel;
    @Option(names = "--log-to-stdout", description = "log to stdout instead of <root>/logs/containerd-nydus-grpc.log")
    boolean logToStdout;

    private PrintWriter err;
    private CountDownLatch started;
    private volatile SnapshotterServer server;

    /** Version text from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = ContainerdNydusGrpc.class.getPackage().getImplementationVersion();
            return new String[]{"containerd-nydus-grpc (nydus4j) " + (v == null ? "dev" : v)};
        }
    }

    /** Runs the command line; returns the exit status (0 after a clean shutdown). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        ContainerdNydusGrpc cmd = new ContainerdNydusGrpc();
        cmd.err = err;
        return new CommandLine(cmd).setOut(out).setErr(err)
                .setExecutionExceptionHandler((e, cl, parsed) -> {
                    // configuration and start-up errors carry their own message: no stack trace for operators
                    cl.getErr().println("containerd-nydus-grpc: " + e.getMessage());
                    if (!(e instanceof IllegalArgumentException) && e.getCause() != null) {
                        cl.getErr().println("  caused by: " + e.getCause());
                    }
                    cl.getErr().flush();
                    return 1;
                })
                .execute(args);
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(execute(args, out, err));
    }

    /**
     * Starts the snapshotter in this thread's caller context and returns it (for tests and embedders); the caller
     * closes it.
     */
    public static SnapshotterServer start(String... args) throws Exception {
        ContainerdNydusGrpc cmd = new ContainerdNydusGrpc();
        cmd.err = new PrintWriter(System.err, true);
        new CommandLine(cmd).parseArgs(args);
        return SnapshotterServer.start(cmd.settings());
    }

    /** The settings a command line resolves to, without starting anything (tests). */
    static SnapshotterConfig settingsOf(String... args) throws java.io.IOException {
        ContainerdNydusGrpc cmd = new ContainerdNydusGrpc();
        cmd.err = new PrintWriter(System.err, true);
        new CommandLine(cmd).parseArgs(args);
        return cmd.settings();
    }

    @Override
    public Integer call() throws Exception {
        SnapshotterConfig settings = settings();
        // as upstream's: SIGINT stops it like SIGTERM, with status 0 (the shutdown hook closes the server)
        dev.nydus4j.fuse.ExitSignals.onStop(() -> System.exit(0));
        SnapshotterServer s = SnapshotterServer.start(settings);
        server = s;
        Thread hook = new Thread(() -> {
            try {
                s.close();
            } catch (java.io.IOException e) {
                err.println("containerd-nydus-grpc: shutdown: " + e.getMessage());
                err.flush();
            }
        }, "containerd-nydus-grpc-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        s.awaitTermination();
        return 0;
    }

    private SnapshotterConfig settings() throws java.io.IOException {
        SnapshotterConfig c = SnapshotterConfig.defaults();
        String level = "info";
        boolean toStdout = logToStdout;
        if (config != null) {
            SnapshotterToml.Result r = SnapshotterToml.read(config, c);
            c = r.config();
            level = r.logLevel() != null ? r.logLevel() : level;
            toStdout |= r.logToStdout();
            if (!r.ignored().isEmpty()) {
                err.println("containerd-nydus-grpc: ignoring config keys not implemented here: " + r.ignored());
                err.flush();
            }
        }
        if (fsDriver != null && !fsDriver.equals("fusedev")) {
            throw new IllegalArgumentException("--fs-driver " + fsDriver + " is not supported; only fusedev is");
        }
        level = logLevel != null ? logLevel : level;
        Path rootDir = root != null ? root : c.root();
        configureLogging(level, toStdout, rootDir);
        return new SnapshotterConfig(rootDir, address != null ? address : c.address(),
                nydusdConfig != null ? nydusdConfig : c.nydusdConfig(),
                nydusdPath != null ? nydusdPath : defaultNydusd(c.nydusdPath(), System.getenv()),
                daemonMode != null ? SnapshotterConfig.DaemonMode.parse(daemonMode) : c.daemonMode(),
                c.threads(), level,
                recoverPolicy != null ? SnapshotterConfig.RecoverPolicy.parse(recoverPolicy) : c.recoverPolicy(),
                c.volatileUpper(), c.cleanupOnClose(), c.dockerConfig(),
                c.failoverPolicy());
    }

    /**
     * The configured nydusd; the bare default "nydusd" when it is not on PATH falls back to the {@code nydusd}
     * launcher beside ours ({@code NYDUS4J_BIN}, set by {@code bin/} launchers), so a checkout works un-installed.
     */
    static String defaultNydusd(String configured, java.util.Map<String, String> env) {
        if (!"nydusd".equals(configured)) {
            return configured;
        }
        for (String dir : env.getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, configured))) {
                return configured;
            }
        }
        String bin = env.getOrDefault("NYDUS4J_BIN", "");
        if (!bin.isEmpty() && java.nio.file.Files.isExecutable(Path.of(bin, "nydusd"))) {
            return Path.of(bin, "nydusd").toString();
        }
        return configured;
    }

    /** slf4j-simple settings (the binding the nydus4j jar ships); they must be set before the first logger. */
    private static void configureLogging(String level, boolean toStdout, Path root) throws java.io.IOException {
        String simple = switch (level.toLowerCase(java.util.Locale.ROOT)) {
            case "trace", "debug", "info", "warn", "error" -> level.toLowerCase(java.util.Locale.ROOT);
            default -> throw new IllegalArgumentException("--log-level " + level
                    + " is not one of trace, debug, info, warn, error");
        };
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", simple);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        // Netty warns on every connection that domain sockets have no SO_KEEPALIVE (grpc-java always sets it)
        System.setProperty("org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.netty.bootstrap", "error");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        if (toStdout) {
            System.setProperty("org.slf4j.simpleLogger.logFile", "System.out");
        } else if (System.getProperty("org.slf4j.simpleLogger.logFile") == null) {
            Path log = root.resolve("logs").resolve("containerd-nydus-grpc.log");
            Files.createDirectories(log.getParent());
            System.setProperty("org.slf4j.simpleLogger.logFile", log.toString());
        }
    }
}
