package dev.nydus4j.snapshotter.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.SnapshotterServer;
import dev.nydus4j.snapshotter.proto.cri.ContainerState;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * End to end with real containerd 1.6 + runc (Debian), a local docker-registry and our snapshotter as proxy plugin
 * {@code nydus}: {@code ctr snapshots} operations, a plain OCI pod over CRI, a Nydus pod whose rootfs is an overlay
 * over our FUSE mount with the blob never in containerd's content store, then recovery: snapshotter restart with a
 * running pod, kill -9 of nydusd, image removal stopping the daemon. Runs as root; skips otherwise.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContainerdIT {
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path tmp;
    private Processes procs;
    private LocalRegistry registry;
    private final TestImages images = new TestImages();
    private Path root;
    private Path snapshotterSocket;
    private Path nydusdScript;
    private Path seedConfig;
    private SnapshotterServer snapshotter;
    private Containerd containerd;
    private CriClient cri;
    private final List<CriClient.Pod> pods = new ArrayList<>();
    private CriClient.Pod nydusPod;

    @BeforeAll
    void setUp() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (containerd, mounts)");
        for (String tool : List.of("containerd", "ctr", "runc", "docker-registry", "skopeo", "umoci")) {
            Assumptions.assumeTrue(Processes.onPath(tool), tool + " is not installed (Debian package "
                    + (tool.equals("ctr") ? "containerd" : tool) + ")");
        }
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "busybox-static is not installed");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse");
        tmp = Files.createTempDirectory(Path.of("/tmp"), "n4j-ctrd-");
        procs = new Processes(tmp.resolve("logs"));
        registry = LocalRegistry.start(procs, tmp.resolve("registry"));
        Path rootfs = TestImages.rootfs(tmp.resolve("rootfs"));
        TestImages.pushOci(tmp, rootfs, registry.address);
        images.pushNydus(tmp, rootfs, registry.address);

        nydusdScript = tmp.resolve("bin/nydusd");
        Files.createDirectories(nydusdScript.getParent());
        Files.writeString(nydusdScript, "#!/bin/sh\nexec '" + Path.of(System.getProperty("java.home"), "bin", "java")
                + "' -Xmx512m -cp '" + System.getProperty("java.class.path") + "' "
                + ForkedNydusd.class.getName() + " \"$@\"\n");
        nydusdScript.toFile().setExecutable(true);
        seedConfig = tmp.resolve("nydusd-config.fusedev.json");
        Files.writeString(seedConfig, """
                {"device": {"backend": {"type": "registry", "config": {"scheme": "http", "timeout": 10,
                   "connect_timeout": 10, "retry_limit": 2}},
                  "cache": {"type": "blobcache", "config": {"work_dir": "/var/lib/nydus/cache"}}},
                 "mode": "direct", "digest_validate": false, "iostats_files": false, "enable_xattr": true}""");
        root = tmp.resolve("sn");
        snapshotterSocket = tmp.resolve("sn.sock");
        snapshotter = SnapshotterServer.start(settings());
        containerd = Containerd.start(procs, tmp.resolve("ctrd"), registry.address, snapshotterSocket);
        cri = new CriClient(containerd.socket);
    }

    private SnapshotterConfig settings() {
        return new SnapshotterConfig(root, snapshotterSocket, seedConfig, nydusdScript.toString(),
                SnapshotterConfig.DaemonMode.DEDICATED, 0, "info", true, false, false, tmp.resolve("docker.json"));
    }

    @AfterAll
    void tearDown() throws Exception {
        if (tmp == null) {
            return;
        }
        try {
            for (CriClient.Pod p : pods) {
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
                stopDaemons();
                unmountAll(tmp);
            }
        }
    }

    @Test
    @Order(1)
    void ctrSnapshotsBehaveLikeOverlayfs() throws Exception {
        String sn = "--snapshotter";
        String out = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "prepare", "--mounts", "base", "");
        JsonNode m = JSON.readTree(out).get(0); // ctr 1.6 prints the mounts as JSON
        assertThat(m.path("Type").asText()).isEqualTo("bind");
        assertThat(m.path("Options").toString()).isEqualTo("[\"rw\",\"rbind\"]");
        Path fs = Path.of(m.path("Source").asText());
        assertThat(fs).startsWith(root.resolve("snapshots")).isDirectory();
        Files.write(fs.resolve("data"), new byte[100_000]);
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "commit", "base-c", "base");
        String view = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "view", "--mounts", "v1", "base-c");
        JsonNode v = JSON.readTree(view).get(0);
        assertThat(v.path("Type").asText()).isEqualTo("bind");
        assertThat(v.path("Source").asText()).isEqualTo(fs.toString());
        assertThat(v.path("Options").toString()).isEqualTo("[\"ro\",\"rbind\"]");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "prepare", "child", "base-c");
        String mounts = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "mounts", "/mnt", "child");
        assertThat(mounts).contains("mount -t overlay overlay /mnt").contains("lowerdir=" + fs)
                .contains("upperdir=" + root.resolve("snapshots"));
        String usage = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "usage", "base-c");
        assertThat(usage).containsPattern("base-c\\s+(9[0-9]|1[0-9][0-9])\\.?[0-9]* ?[Kk]i?B\\s+2");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "label", "base-c", "containerd.io/snapshot/e2e=1");
        assertThat(containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "info", "base-c"))
                .contains("\"containerd.io/snapshot/e2e\": \"1\"").contains("\"Kind\": \"Committed\"");
        String tree = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "tree");
        assertThat(tree).contains("base-c").contains("child").contains("v1");
        assertThatThrownBy(() -> containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "base-c"))
                .hasMessageContaining("failed");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "child", "v1");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "base-c");
        // Remove reaches the backend through containerd's GC; the directories go with it
        assertThat(Processes.await(Duration.ofSeconds(20), () -> !Files.exists(fs))).isTrue();
        assertThat(containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "ls")).doesNotContain("base-c");
    }

    @Test
    @Order(2)
    void plainOciImageRunsAsPodThroughSnapshotter() throws Exception {
        String image = registry.address + "/e2e/busybox:latest";
        cri.pull(image);
        CriClient.Pod pod = runPod("oci");
        String id = cri.startContainer(pod, "hello", image,
                List.of("/bin/sh", "-c", "cat /etc/hello.txt; grep ' / ' /proc/self/mountinfo"));
        ContainerStatus s = cri.awaitExit(id, EXIT_TIMEOUT);
        String log = CriClient.logText(pod, "hello");
        assertThat(s.getState()).as(log).isEqualTo(ContainerState.CONTAINER_EXITED);
        assertThat(s.getExitCode()).as(log).isZero();
        assertThat(log).contains("hello from nydus4j e2e")
                .contains("upperdir=" + root.resolve("snapshots"))
                .contains("lowerdir=" + root.resolve("snapshots"));
    }

    @Test
    @Order(3)
    void nydusImageRunsOverFuseWithoutFetchingBlobLayers() throws Exception {
        String image = registry.address + "/e2e/busybox-nydus:latest";
        cri.pull(image);
        String content = containerd.ctr("-n", "k8s.io", "content", "ls");
        // the blob is referenced by the manifest's gc labels, but has no row of its own
        assertThat(content.lines()).noneMatch(l -> l.startsWith(images.nydusBlobDigest));
        assertThat(content.lines()).anyMatch(l -> l.startsWith(images.nydusBootstrapDigest));
        nydusPod = runPod("nydus");
        String id = cri.startContainer(nydusPod, "first", image, List.of("/bin/sh", "-c",
                "cat /etc/os-release; ls /bin | wc -l; cat /etc/hello.txt; grep ' / ' /proc/self/mountinfo"));
        ContainerStatus s = cri.awaitExit(id, EXIT_TIMEOUT);
        String log = CriClient.logText(nydusPod, "first");
        assertThat(s.getExitCode()).as(log).isZero();
        assertThat(log).contains("NAME=\"nydus4j busybox\"").contains("hello from nydus4j e2e")
                .containsPattern("(?m)^[1-9][0-9]{2}$"); // hundreds of applets in /bin
        List<Path> fuse = fuseMounts();
        assertThat(fuse).singleElement().satisfies(mp -> {
            assertThat(mp.toString()).startsWith(root.resolve("snapshots").toString()).endsWith("/mnt");
            assertThat(log).contains("lowerdir=" + mp + ",").doesNotContain(":" + mp);
        });
        // the blob was read by our daemon with range requests, never by containerd
        List<String> gets = registry.accessLines(images.nydusBlobDigest);
        assertThat(gets).isNotEmpty().noneMatch(l -> l.contains("containerd/"));
    }

    @Test
    @Order(4)
    void snapshotterRestartWithRunningPodRecovers() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        String image = registry.address + "/e2e/busybox-nydus:latest";
        String sleeper = cri.startContainer(nydusPod, "sleeper", image, List.of("/bin/sh", "-c", "sleep 600"));
        assertThat(cri.status(sleeper).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
        long pidBefore = nydusdPids().get(0);
        snapshotter.close();
        snapshotter = SnapshotterServer.start(settings());
        assertThat(nydusdPids()).containsExactly(pidBefore); // re-attached, not restarted
        String id = cri.startContainer(nydusPod, "after-restart", image, List.of("/bin/cat", "/etc/hello.txt"));
        cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(CriClient.logText(nydusPod, "after-restart")).contains("hello from nydus4j e2e");
        assertThat(fuseMounts()).hasSize(1);
    }

    @Test
    @Order(5)
    void killedNydusdIsRestarted() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        long pid = nydusdPids().get(0);
        Processes.run(Duration.ofSeconds(10), "kill", "-9", Long.toString(pid));
        assertThat(Processes.await(Duration.ofSeconds(60), () -> {
            List<Long> now = nydusdPids();
            return now.size() == 1 && now.get(0) != pid && fuseMounts().size() == 1;
        })).as("a new nydusd serves the image").isTrue();
        String image = registry.address + "/e2e/busybox-nydus:latest";
        String id = cri.startContainer(nydusPod, "after-kill", image, List.of("/bin/cat", "/etc/os-release"));
        ContainerStatus s = cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(s.getExitCode()).isZero();
        assertThat(CriClient.logText(nydusPod, "after-kill")).contains("nydus4j busybox");
    }

    @Test
    @Order(6)
    void removingTheImageStopsItsDaemon() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        cri.removePod(nydusPod);
        pods.remove(nydusPod);
        cri.removeImage(registry.address + "/e2e/busybox-nydus:latest");
        assertThat(Processes.await(Duration.ofSeconds(30), () -> fuseMounts().isEmpty() && nydusdPids().isEmpty()))
                .as("FUSE mount and nydusd gone after the image's snapshots were removed").isTrue();
    }

    private CriClient.Pod runPod(String name) throws IOException {
        CriClient.Pod p = cri.runPod(name, tmp.resolve("pods").resolve(name), "", Map.of());
        pods.add(p);
        return p;
    }

    private List<Path> fuseMounts() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            return lines.map(l -> l.split(" ")).filter(f -> f.length > 8 && f[4].startsWith(root.toString())
                    && List.of(f).subList(6, f.length).stream().anyMatch(x -> x.startsWith("fuse")))
                    .map(f -> Path.of(f[4])).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<Long> nydusdPids() {
        return ProcessHandle.allProcesses().filter(h -> cmdline(h.pid()).contains("--apisock " + root))
                .map(ProcessHandle::pid).toList();
    }

    /** /proc/PID/cmdline with spaces between arguments ("" once the process is gone). */
    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    private void stopDaemons() {
        for (long pid : nydusdPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
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

    private static void unmountAll(Path dir) throws IOException, InterruptedException {
        List<String> mps;
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
            mps = lines.map(l -> l.split(" ")[4]).filter(mp -> mp.startsWith(dir.toString()))
                    .sorted((a, b) -> b.length() - a.length()).toList();
        }
        for (String mp : mps) {
            try {
                Processes.run(Duration.ofSeconds(30), "umount", "-l", mp);
            } catch (IOException e) {
                System.err.println("teardown: " + e.getMessage());
            }
        }
    }
}
