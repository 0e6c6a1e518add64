package dev.nydus4j.snapshotter.e2e;

import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.SnapshotterServer;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Everything an end-to-end test needs, under one temp dir in /tmp: a docker-registry with the test images, our
 * snapshotter (in this JVM; nydusd processes forked through a {@code nydusd} script), containerd with its own
 * config, and a CRI client. {@link #close()} removes pods, stops every process by pid, unmounts what is left below
 * the temp dir and deletes it. {@link #open} aborts the test (skip) when not root or a tool is missing.
 */
final class E2eEnvironment implements AutoCloseable {
    final Path tmp;
    final Processes procs;
    /** The registry this environment started, or null with an external one. */
    final LocalRegistry registry;
    final String registryAddress;
    final TestImages images = new TestImages();
    final Path root;
    final Path snapshotterSocket;
    final Containerd containerd;
    final CriClient cri;
    private final Path nydusdScript;
    private final Path seedConfig;
    private SnapshotterConfig.DaemonMode mode;
    private final List<CriClient.Pod> pods = new ArrayList<>();
    SnapshotterServer snapshotter;

    private E2eEnvironment(Path tmp, SnapshotterConfig.DaemonMode mode, String defaultSnapshotter,
                           List<String> extraNydusImages, String externalRegistry, Path nydusd) throws Exception {
        this.tmp = tmp;
        this.mode = mode;
        this.procs = new Processes(tmp.resolve("logs"));
        LocalRegistry reg = null;
        Containerd ctrd = null;
        try {
            String registryAddress = externalRegistry;
            if (externalRegistry == null) {
                reg = LocalRegistry.start(procs, tmp.resolve("registry"));
                registryAddress = reg.address;
                Path rootfs = TestImages.rootfs(tmp.resolve("rootfs"));
                TestImages.pushOci(tmp, rootfs, reg.address);
                images.pushNydus(tmp, rootfs, reg.address, "busybox-nydus");
                for (String name : extraNydusImages) {
                    Files.writeString(rootfs.resolve("etc/image-name"), name + "\n");
                    new TestImages().pushNydus(tmp.resolve(name), rootfs, reg.address, name);
                }
            }
            if (nydusd != null) {
                nydusdScript = nydusd;
            } else {
                nydusdScript = tmp.resolve("bin/nydusd");
                Files.createDirectories(nydusdScript.getParent());
                Files.writeString(nydusdScript, "#!/bin/sh\nexec '"
                        + Path.of(System.getProperty("java.home"), "bin", "java") + "' -Xmx512m -cp '"
                        + System.getProperty("java.class.path") + "' " + ForkedNydusd.class.getName() + " \"$@\"\n");
                nydusdScript.toFile().setExecutable(true);
            }
            seedConfig = tmp.resolve("nydusd-config.fusedev.json");
            Files.writeString(seedConfig, """
                    {"device": {"backend": {"type": "registry", "config": {"scheme": "http", "timeout": 10,
                       "connect_timeout": 10, "retry_limit": 2}},
                      "cache": {"type": "blobcache", "config": {"work_dir": "/var/lib/nydus/cache"}}},
                     "mode": "direct", "digest_validate": false, "iostats_files": false, "enable_xattr": true}""");
            root = tmp.resolve("sn");
            snapshotterSocket = tmp.resolve("sn.sock");
            snapshotter = SnapshotterServer.start(settings());
            ctrd = Containerd.start(procs, tmp.resolve("ctrd"), registryAddress, snapshotterSocket,
                    defaultSnapshotter);
            cri = new CriClient(ctrd.socket);
        } catch (Exception e) {
            this.registry = reg;
            this.containerd = ctrd;
            close();
            throw e;
        }
        this.registry = reg;
        this.containerd = ctrd;
        this.registryAddress = registryAddress(reg, externalRegistry);
    }

    private static String registryAddress(LocalRegistry reg, String external) {
        return reg != null ? reg.address : external;
    }

    /**
     * @param defaultSnapshotter CRI's default snapshotter; runtime handler {@code nydus-runc} always uses ours
     * @param extraNydusImages   names of further Nydus images (same rootfs plus {@code /etc/image-name})
     */
    static E2eEnvironment open(SnapshotterConfig.DaemonMode mode, String defaultSnapshotter,
                               List<String> extraNydusImages) throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (containerd, mounts)");
        for (String tool : List.of("containerd", "ctr", "runc", "docker-registry", "skopeo", "umoci")) {
            Assumptions.assumeTrue(Processes.onPath(tool), tool + " is not installed (Debian package "
                    + (tool.equals("ctr") ? "containerd" : tool) + ")");
        }
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "busybox-static is not installed");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        return new E2eEnvironment(Files.createTempDirectory(Path.of("/tmp"), "n4j-ctrd-"), mode, defaultSnapshotter,
                extraNydusImages, null, null);
    }

    /**
     * For the pull-to-running benchmark: images already in {@code registry} (including {@code e2e/pause:latest}),
     * our snapshotter forking {@code nydusd} (the project's launcher), containerd with {@code defaultSnapshotter}.
     */
    static E2eEnvironment external(Path tmp, String registry, String defaultSnapshotter,
                                   SnapshotterConfig.DaemonMode mode, Path nydusd) throws Exception {
        return new E2eEnvironment(tmp, mode, defaultSnapshotter, List.of(), registry, nydusd);
    }

    SnapshotterConfig settings() {
        return new SnapshotterConfig(root, snapshotterSocket, seedConfig, nydusdScript.toString(), mode, 0, "info",
                true, false, false, tmp.resolve("docker.json"));
    }

    String image(String name) {
        return registryAddress + "/e2e/" + name + ":latest";
    }

    CriClient.Pod runPod(String name, String runtimeHandler, Map<String, String> annotations) throws IOException {
        CriClient.Pod p = cri.runPod(name, tmp.resolve("pods").resolve(name), runtimeHandler, annotations);
        pods.add(p);
        return p;
    }

    void removePod(CriClient.Pod p) {
        cri.removePod(p);
        pods.remove(p);
    }

    /** Restarts our snapshotter (daemons keep running) and waits until containerd reaches it again. */
    void restartSnapshotter() throws IOException, InterruptedException {
        snapshotter.close();
        snapshotter = SnapshotterServer.start(settings());
        containerd.awaitSnapshotter(snapshotterSocket);
    }

    /** Starts the snapshotter again after a test closed it, in daemon mode {@code mode} from now on. */
    void startSnapshotter(SnapshotterConfig.DaemonMode mode) throws IOException, InterruptedException {
        this.mode = mode;
        startSnapshotter();
    }

    /** Starts the snapshotter again after a test closed it. */
    void startSnapshotter() throws IOException, InterruptedException {
        snapshotter = SnapshotterServer.start(settings());
        containerd.awaitSnapshotter(snapshotterSocket);
    }

    /** FUSE mountpoints below the snapshotter root. */
    List<Path> fuseMounts() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.map(l -> l.split(" ")).filter(f -> f.length > 8 && f[4].startsWith(root.toString())
                    && List.of(f).subList(6, f.length).stream().anyMatch(x -> x.startsWith("fuse")))
                    .map(f -> Path.of(f[4])).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Overlay mounts (container rootfs mounted by the shims) whose lowerdir lies below {@code dir}, as mountpoints;
     * with {@code dir} a FUSE mountpoint, the containers running on that image.
     */
    List<Path> overlayMountsOver(Path dir) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.map(l -> l.split(" - ", 2)).filter(p -> p.length == 2)
                    .filter(p -> p[1].startsWith("overlay ") && List.of(p[1].split(" ")[2].split(",")).stream()
                            .anyMatch(o -> o.startsWith("lowerdir=") && List.of(o.substring(9).split(":"))
                                    .stream().anyMatch(l -> l.startsWith(dir.toString()))))
                    .map(p -> Path.of(p[0].split(" ")[4])).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Pids of the nydusd processes serving this snapshotter. */
    List<Long> nydusdPids() {
        return ProcessHandle.allProcesses().filter(h -> cmdline(h.pid()).contains("--apisock " + root))
                .map(ProcessHandle::pid).toList();
    }

    /** /proc/PID/cmdline with spaces between arguments ("" once the process is gone). */
    static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws Exception {
        try {
            for (CriClient.Pod p : List.copyOf(pods)) {
                try {
                    cri.removePod(p);
                } catch (RuntimeException e) {
                    System.err.println("teardown: cannot remove pod " + p.id() + ": " + e.getMessage());
                }
            }
            if (cri != null) {
                cri.close();
            }
        } finally {
            try {
                procs.close(); // containerd, then the registry
                killShims();
                if (snapshotter != null) {
                    snapshotter.close();
                }
            } finally {
                for (long pid : nydusdPids()) {
                    ProcessHandle.of(pid).ifPresent(h -> {
                        h.destroy();
                        h.onExit().join();
                    });
                }
                keepLogs();
                if (unmountAll(tmp)) {
                    deleteQuietly(tmp);
                } else {
                    System.err.println("teardown: mounts remain below " + tmp + "; not deleting it");
                }
            }
        }
    }

    /** Copies the process logs and the snapshotter's logs to target/e2e-logs/<temp dir name> for post-mortems. */
    private void keepLogs() {
        Path dest = Path.of("target", "e2e-logs", tmp.getFileName().toString());
        try {
            Files.createDirectories(dest);
            for (Path dir : List.of(tmp.resolve("logs"), tmp.resolve("sn/logs"))) {
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> files = Files.walk(dir)) {
                        for (Path f : files.filter(Files::isRegularFile).toList()) {
                            Path to = dest.resolve(dir.getParent().getFileName() + "-"
                                    + dir.relativize(f).toString().replace('/', '_'));
                            Files.copy(f, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("teardown: cannot keep logs: " + e.getMessage());
        }
    }

    /** containerd-shim-runc-v2 processes of our containerd (they outlive it by design). */
    private void killShims() {
        if (containerd == null) {
            return;
        }
        ProcessHandle.allProcesses().filter(h -> {
            String c = cmdline(h.pid());
            return c.contains("containerd-shim") && c.contains(containerd.socket.toString());
        }).forEach(ProcessHandle::destroy);
    }

    private static List<String> mountsBelow(Path dir) throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.map(l -> l.split(" ")[4]).filter(mp -> mp.startsWith(dir + "/"))
                    .sorted((a, b) -> b.length() - a.length()).toList();
        }
    }

    /** Lazily unmounts everything below {@code dir}; true when nothing is left. */
    private static boolean unmountAll(Path dir) throws IOException, InterruptedException {
        for (String mp : mountsBelow(dir)) {
            try {
                Processes.run(Duration.ofSeconds(30), "umount", "-l", mp);
            } catch (IOException e) {
                System.err.println("teardown: " + e.getMessage());
            }
        }
        return mountsBelow(dir).isEmpty();
    }

    /** Deletes the temp dir; a process still exiting may add a file meanwhile, so one retry. */
    private static void deleteQuietly(Path dir) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                deleteTree(dir);
                return;
            } catch (IOException e) {
                if (attempt == 2) {
                    System.err.println("teardown: cannot delete " + dir + ": " + e);
                    return;
                }
                Thread.sleep(1000);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
