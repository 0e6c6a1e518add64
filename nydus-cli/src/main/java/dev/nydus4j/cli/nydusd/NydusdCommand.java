package dev.nydus4j.cli.nydusd;

import dev.nydus4j.api.config.BackendConfig;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.cli.image.ErrorReporter;
import dev.nydus4j.cli.VersionInfo;
import dev.nydus4j.fuse.ApiServer;
import dev.nydus4j.fuse.NydusDaemon;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code nydusd}: serves RAFS images over FUSE with upstream's command line (API spec 1): the legacy form
 * without subcommand and {@code nydusd fuse}. Runs until SIGINT/SIGTERM, {@code PUT /api/v1/daemon/exit} or an
 * external unmount, and removes its API socket on the way out. It unmounts then, except after its FUSE session was
 * handed to the supervisor ({@code PUT /api/v1/daemon/fuse/sendfd}): then {@code exit} leaves the mount to the
 * daemon taking it over ({@code --upgrade}); SIGTERM still unmounts.
 */
@Command(name = "nydusd", mixinStandardHelpOptions = true, versionProvider = NydusdCommand.Version.class,
        description = "Serves Nydus (RAFS) images over FUSE, fetching data lazily from a storage backend.",
        subcommands = {NydusdCommand.Fuse.class, NydusdCommand.Unsupported.class})
public final class NydusdCommand implements Callable<Integer> {
    /**
     * Looked up when used, not when the class is initialised: this class is the first one of a nydusd start, and
     * initialising slf4j here (~25 ms in a cold JVM) would delay picocli's model on the main thread; the backends and
     * the daemon initialise it first, on the warm-up thread ({@link StartupWarmUp}).
     */
    private static Logger log() {
        return LoggerFactory.getLogger(NydusdCommand.class);
    }

    /** Options shared by the legacy form and {@code fuse}. */
    static class Options {
        @Option(names = {"-A", "--apisock"}, paramLabel = "PATH", scope = ScopeType.INHERIT,
                description = "Unix socket of the HTTP admin API.")
        Path apisock;
        @Option(names = {"-C", "--config"}, paramLabel = "FILE", scope = ScopeType.INHERIT,
                description = "nydusd config (v1 JSON, v2 JSON or v2 TOML).")
        Path config;
        @Option(names = "--id", scope = ScopeType.INHERIT, description = "Daemon id (reported by the API).")
        String id;
        @Option(names = "--supervisor", scope = ScopeType.INHERIT, paramLabel = "PATH",
                description = "Supervisor Unix socket for live upgrade and failover (kernel FUSE engine):"
                        + " PUT /api/v1/daemon/fuse/sendfd sends the daemon's state and /dev/fuse descriptor there"
                        + " (SCM_RIGHTS); an --upgrade daemon takes them back (PUT /api/v1/daemon/fuse/takeover).")
        String supervisor;
        @Option(names = {"-l", "--log-level"}, scope = ScopeType.INHERIT, defaultValue = "info",
                description = "trace, debug, info, warn, error (default: ${DEFAULT-VALUE}).")
        String logLevel;
        @Option(names = {"-L", "--log-file"}, scope = ScopeType.INHERIT, paramLabel = "FILE",
                description = "Log to FILE instead of stderr.")
        String logFile;
        @Option(names = "--log-rotation-size", scope = ScopeType.INHERIT, hidden = true)
        long logRotationSize;
        @Option(names = "--rlimit-nofile", scope = ScopeType.INHERIT, hidden = true)
        long rlimitNofile;
        @Option(names = "--upgrade", scope = ScopeType.INHERIT,
                description = "Upgrade/failover mode (needs --supervisor, --apisock, the kernel engine): mount"
                        + " nothing, stay INIT until PUT /api/v1/daemon/fuse/takeover restores the images and FUSE"
                        + " session saved to the supervisor, then PUT /api/v1/daemon/start serves the existing mount"
                        + " (--bootstrap and --config are not used: the saved state names the images).")
        boolean upgrade;
        @Option(names = {"-M", "--mountpoint"}, paramLabel = "DIR", scope = ScopeType.INHERIT,
                description = "FUSE mountpoint (must exist).")
        Path mountpoint;
        @Option(names = "--failover-policy", scope = ScopeType.INHERIT, defaultValue = "resend",
                description = "What an --upgrade daemon does with requests the previous daemon read but never"
                        + " answered: resend (default) and flush have the kernel queue them again"
                        + " (FUSE_NOTIFY_RESEND, Linux 6.9+); none leaves them waiting.")
        String failoverPolicy;
        @Option(names = {"--fuse-threads", "--thread-num"}, scope = ScopeType.INHERIT, defaultValue = "4",
                description = "FUSE worker threads, 1..1024 (the kernel engine's; libfuse2 sizes its own pool).")
        int threads;
        @Option(names = "--fuse-engine", scope = ScopeType.INHERIT, paramLabel = "kernel|libfuse",
                description = "kernel: nydusd's own /dev/fuse session (1 MiB reads, no open round trips; needs root),"
                        + " libfuse: libfuse2 via jnr-fuse. Default: kernel as root, else libfuse; kernel falls back"
                        + " to libfuse when it cannot mount.")
        String fuseEngine;
        @Option(names = "--writable", scope = ScopeType.INHERIT, description = "Mount read-write (not supported).")
        boolean writable;
        @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", scope = ScopeType.INHERIT,
                description = "RAFS bootstrap to mount at start; without it the daemon waits for API mounts.")
        Path bootstrap;
        @Option(names = {"-D", "--localfs-dir"}, paramLabel = "DIR", scope = ScopeType.INHERIT,
                description = "Shortcut: localfs backend and blob cache both in DIR.")
        Path localfsDir;
        @Option(names = {"-s", "--shared-dir"}, paramLabel = "DIR", scope = ScopeType.INHERIT,
                description = "Passthrough of a host directory (not supported).")
        Path sharedDir;
        @Option(names = "--prefetch-files", paramLabel = "FILE", scope = ScopeType.INHERIT,
                description = "File listing absolute paths to prefetch (overrides the image's prefetch table).")
        Path prefetchFiles;
        @Option(names = {"-m", "--virtual-mountpoint"}, scope = ScopeType.INHERIT, defaultValue = "/",
                description = "Sub-path inside the FUSE mount where the bootstrap is served (default: /).")
        String virtualMountpoint;
        @Option(names = "--dedup-db", scope = ScopeType.INHERIT, paramLabel = "FILE",
                description = "Upstream's SQLite database of cross-image chunk dedup: not supported by nydus4j;"
                        + " accepted with a warning and ignored (each cache work_dir fetches its own chunks).")
        String dedupDb;
        @Option(names = "--backend-source", scope = ScopeType.INHERIT, hidden = true,
                description = "Accepted and ignored (snapshotter compatibility).")
        String backendSource;
    }

    @CommandLine.Mixin
    Options options = new Options();

    @Override
    public Integer call() throws Exception {
        return serve(options);
    }

    @Command(name = "fuse", mixinStandardHelpOptions = true, description = "Serve RAFS images over FUSE.")
    static final class Fuse implements Callable<Integer> {
        @CommandLine.ParentCommand
        NydusdCommand parent;

        @Override
        public Integer call() throws Exception {
            return serve(parent.options);
        }
    }

    @Command(name = "singleton", aliases = {"virtiofs", "uffd", "nbd"}, description = "Not supported by nydus4j.")
    static final class Unsupported implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @CommandLine.Unmatched
        List<String> rest = new ArrayList<>();

        @Override
        public Integer call() {
            throw new IllegalArgumentException("nydusd mode '" + spec.commandLine().getParseResult().originalArgs()
                    .stream().filter(a -> List.of("singleton", "virtiofs", "uffd", "nbd").contains(a)).findFirst()
                    .orElse(spec.name()) + "' is not supported by nydus4j (needs fscache/virtio-fs/userfaultfd/nbd);"
                    + " use 'nydusd fuse'");
        }
    }

    static int serve(Options o) throws Exception {
        if (o.writable) {
            throw new IllegalArgumentException("--writable is not supported: nydus4j serves images read-only");
        }
        if (o.sharedDir != null) {
            throw new IllegalArgumentException("--shared-dir (passthrough fs) is not supported by nydus4j");
        }
        if (o.mountpoint == null) {
            throw new IllegalArgumentException("--mountpoint is required");
        }
        dev.nydus4j.fuse.FuseEngine engine = o.fuseEngine == null ? dev.nydus4j.fuse.FuseEngine.byDefault()
                : dev.nydus4j.fuse.FuseEngine.parse(o.fuseEngine);
        engine.preload(); // JNA loads while the config is parsed and the backends are discovered
        if (o.threads < 1 || o.threads > 1024) {
            throw new IllegalArgumentException("--thread-num must be within 1..1024, got " + o.threads);
        }
        if (!List.of("none", "resend", "flush").contains(o.failoverPolicy)) {
            throw new IllegalArgumentException("--failover-policy must be none, resend or flush, got " + o.failoverPolicy);
        }
        if (o.config != null && o.localfsDir != null) {
            throw new IllegalArgumentException("--config and --localfs-dir conflict; give one of them");
        }
        NydusdConfig config = null;
        if (o.bootstrap != null) {
            if (o.config == null && o.localfsDir == null) {
                throw new IllegalArgumentException("both --config and --localfs-dir are missing");
            }
            config = o.config != null ? NydusdConfigParser.parseFile(o.config) : localfs(o.localfsDir);
            config = withPullAuth(config);
        } else if (o.prefetchFiles != null) {
            throw new IllegalArgumentException("--prefetch-files requires --bootstrap");
        }
        List<String> prefetch = o.prefetchFiles == null ? null : prefetchList(o.prefetchFiles);
        for (String w : ignoredOptionWarnings(o)) {
            log().warn(w);
        }

        if (o.upgrade) {
            if (o.supervisor == null) {
                throw new IllegalArgumentException("--upgrade needs --supervisor (where the FUSE session is taken"
                        + " from)");
            }
            if (o.apisock == null) {
                throw new IllegalArgumentException("--upgrade needs --apisock (the takeover is asked for through"
                        + " PUT /api/v1/daemon/fuse/takeover)");
            }
            if (engine != dev.nydus4j.fuse.FuseEngine.KERNEL) {
                throw new IllegalArgumentException("--upgrade needs the kernel FUSE engine (root): libfuse cannot"
                        + " serve a taken-over session");
            }
        }
        BackendRegistry registry = BackendRegistry.discover();
        CountDownLatch exit = new CountDownLatch(1);
        NydusDaemon.StartupImage image = o.bootstrap == null ? null
                : new NydusDaemon.StartupImage(config, o.bootstrap, o.virtualMountpoint, prefetch);
        NydusDaemon daemon = o.upgrade
                ? NydusDaemon.upgrade(o.mountpoint, registry, o.id, o.supervisor, o.threads, o.failoverPolicy)
                : NydusDaemon.start(image, o.mountpoint, registry, o.id, o.supervisor, engine, o.threads);
        ApiServer api = null;
        try {
            if (o.apisock != null) {
                api = ApiServer.start(o.apisock, daemon, versionJson(), exit::countDown);
            }
            if (image == null && !o.upgrade) {
                // a daemon waiting for API mounts is idle: warm the data path for the first one's reads
                dev.nydus4j.fuse.DataPathWarmUp.start(registry);
            }
            ApiServer apiRef = api;
            // as upstream's: SIGTERM/SIGINT unmount through the main thread and exit 0
            dev.nydus4j.fuse.ExitSignals.onStop(exit::countDown);
            Thread hook = new Thread(() -> shutdown(daemon, apiRef), "nydusd-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Thread watcher = new Thread(() -> {
                try {
                    daemon.await();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
                exit.countDown();
            }, "nydusd-mount-watch");
            watcher.setDaemon(true);
            watcher.start();
            exit.await();
            log().info("nydusd exiting");
            shutdown(daemon, api);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            shutdown(daemon, api);
            throw e;
        }
    }

    private static void shutdown(NydusDaemon daemon, ApiServer api) {
        try {
            if (api != null) {
                api.close();
            }
        } catch (IOException e) {
            log().warn("closing the API socket failed: {}", e.getMessage());
        }
        try {
            daemon.close();
        } catch (IOException e) {
            log().warn("unmounting failed: {}", e.getMessage());
        }
    }

    /**
     * Warnings for options that are accepted but have no effect in nydus4j (performance-only upstream features), so
     * a user who passes them is told instead of silently getting less than asked for.
     */
    static List<String> ignoredOptionWarnings(Options o) {
        List<String> out = new ArrayList<>();
        if (o.dedupDb != null) {
            out.add("--dedup-db " + o.dedupDb + ": cross-image chunk dedup (upstream's CAS database) is not supported"
                    + " by nydus4j; ignored, no database is written and each cache work_dir fetches its own chunks");
        }
        return out;
    }

    /** The {@code -D} shortcut: localfs backend and blob cache in one directory. */
    static NydusdConfig localfs(Path dir) {
        String d = dir.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"");
        return NydusdConfigParser.parse("{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + d
                + "\"}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + d + "\"}}},\"mode\":\"direct\"}",
                "--localfs-dir " + dir);
    }

    /** {@code IMAGE_PULL_AUTH} replaces the registry backend's {@code auth}. */
    static NydusdConfig withPullAuth(NydusdConfig c) {
        String auth = System.getenv("IMAGE_PULL_AUTH");
        BackendConfig b = c.backend();
        if (auth == null || auth.isBlank() || b == null || !b.type().equals("registry")) {
            return c;
        }
        return c.withBackend(b.with(Map.of("auth", auth.trim())));
    }

    static List<String> prefetchList(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String l = line.trim();
            if (!l.isEmpty()) {
                out.add(l);
            }
        }
        return out;
    }

    static Map<String, Object> versionJson() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("package_ver", "v" + VersionInfo.version());
        v.put("git_commit", VersionInfo.gitCommit());
        v.put("build_time", VersionInfo.buildTime());
        v.put("profile", "release");
        v.put("rustc", "java " + System.getProperty("java.version"));
        return v;
    }

    /** {@code --version} in upstream's shape. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return VersionInfo.versionLines("nydusd");
        }
    }

    /**
     * Parses and runs one command line; returns the exit code. The legacy form (no subcommand, the way the
     * snapshotter and the benchmarks start the daemon) is parsed with {@link Legacy}, a model without the
     * subcommands: picocli builds every subcommand's model, inherited options copied into each, when a command line is
     * made (~30 of its ~90 ms in a cold JVM). Anything else, and any command line {@link Legacy} rejects, goes to the
     * full model, so help, version, subcommands and every error message are exactly the full model's.
     */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        if (!mentionsFullModel(args)) {
            CommandLine legacy = new CommandLine(new Legacy());
            try {
                legacy.parseArgs(args);
                return ErrorReporter.configure(legacy, out, err).execute(args);
            } catch (CommandLine.ParameterException e) {
                // reported by the full model below, with its wording (e.g. suggestions of subcommand names)
            }
        }
        return executeFull(args, out, err);
    }

    /** {@link #execute} with the full model always. */
    static int executeFull(String[] args, PrintWriter out, PrintWriter err) {
        return ErrorReporter.configure(new CommandLine(new NydusdCommand()), out, err).execute(args);
    }

    /** Arguments that need the full model: subcommand names and aliases, help and version options. */
    private static final Set<String> FULL_MODEL_ARGS = Set.of("fuse", "singleton", "virtiofs", "uffd", "nbd",
            "-h", "--help", "-V", "--version");

    static boolean mentionsFullModel(String[] args) {
        for (String a : args) {
            if (FULL_MODEL_ARGS.contains(a) || shortCluster(a)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code a} is a cluster of short options holding -h or -V (e.g. "-hV"). */
    private static boolean shortCluster(String a) {
        if (a.length() < 3 || a.charAt(0) != '-' || a.charAt(1) == '-') {
            return false;
        }
        boolean helpOrVersion = false;
        for (int i = 1; i < a.length(); i++) {
            char c = a.charAt(i);
            if (!Character.isLetter(c)) {
                return false;
            }
            helpOrVersion |= c == 'h' || c == 'V';
        }
        return helpOrVersion;
    }

    /** The legacy form's model: the top-level command without its subcommands (see {@link #execute}). */
    @Command(name = "nydusd", mixinStandardHelpOptions = true, versionProvider = NydusdCommand.Version.class,
            description = "Serves Nydus (RAFS) images over FUSE, fetching data lazily from a storage backend.")
    static final class Legacy implements Callable<Integer> {
        @CommandLine.Mixin
        Options options = new Options();

        @Override
        public Integer call() throws Exception {
            return serve(options);
        }
    }
}
