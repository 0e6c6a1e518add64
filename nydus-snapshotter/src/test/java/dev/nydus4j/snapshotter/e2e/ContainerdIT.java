package dev.nydus4j.snapshotter.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.snapshotter.SnapshotterConfig;
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
import java.util.List;
import java.util.Map;

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

    private E2eEnvironment env;
    private Path root;
    private Containerd containerd;
    private CriClient cri;
    private LocalRegistry registry;
    private TestImages images;
    private CriClient.Pod nydusPod;

    @BeforeAll
    void setUp() throws Exception {
        env = E2eEnvironment.open(SnapshotterConfig.DaemonMode.DEDICATED, "nydus", List.of("other-nydus"));
        root = env.root;
        containerd = env.containerd;
        cri = env.cri;
        registry = env.registry;
        images = env.images;
    }

    @AfterAll
    void tearDown() throws Exception {
        if (env != null) {
            env.close();
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
        // the same steps on containerd's overlayfs snapshotter report the same usage (allocated blocks), and a
        // view's is zero on both
        String ov = containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "prepare", "--mounts", "base", "");
        Path ovFs = Path.of(JSON.readTree(ov).get(0).path("Source").asText());
        Files.write(ovFs.resolve("data"), new byte[100_000]);
        containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "commit", "base-c", "base");
        containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "view", "v1", "base-c");
        for (String key : List.of("base-c", "v1")) {
            assertThat(containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "usage", key)).as(key)
                    .isEqualTo(containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "usage", key));
        }
        assertThat(containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "usage", "v1"))
                .containsPattern("v1\\s+0\\.0 B\\s+0");
        containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "rm", "v1");
        containerd.ctr("-n", "e2e", "snapshots", sn, "overlayfs", "rm", "base-c");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "label", "base-c", "containerd.io/snapshot/e2e=1");
        assertThat(containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "info", "base-c"))
                .contains("\"containerd.io/snapshot/e2e\": \"1\"").contains("\"Kind\": \"Committed\"");
        String tree = containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "tree");
        assertThat(tree).contains("base-c").contains("child").contains("v1");
        assertThatThrownBy(() -> containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "base-c"))
                .hasMessageContaining("failed");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "child", "v1");
        containerd.ctr("-n", "e2e", "snapshots", sn, "nydus", "rm", "base-c");
        containerd.gc();
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
        // lazily: only the chunks the container touched, not the 8 MiB file it never read
        long served = registry.bytesServed(images.nydusBlobDigest, "");
        System.out.printf("Nydus blob: %d of %d bytes fetched from the registry%n", served, images.nydusBlobSize);
        assertThat(served).as("blob bytes fetched of %d", images.nydusBlobSize)
                .isPositive().isLessThan(images.nydusBlobSize - (6 << 20));
    }

    @Test
    @Order(4)
    void dedicatedModeRunsOneDaemonPerImage() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        String other = env.image("other-nydus");
        cri.pull(other);
        String id = cri.startContainer(nydusPod, "other", other, List.of("/bin/cat", "/etc/image-name"));
        cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(CriClient.logText(nydusPod, "other")).contains("other-nydus");
        assertThat(fuseMounts()).hasSize(2);
        assertThat(nydusdPids()).hasSize(2);
        // the container's snapshot keeps the image's bootstrap; after the pod's containers are gone it is removed
        cri.removeContainer(id);
        cri.removeImage(other);
        assertThat(Processes.await(Duration.ofSeconds(30), () -> fuseMounts().size() == 1
                && nydusdPids().size() == 1)).as("the other image's daemon stopped, the first one's stays").isTrue();
    }

    @Test
    @Order(5)
    void snapshotterRestartWithRunningPodRecovers() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        String image = registry.address + "/e2e/busybox-nydus:latest";
        String sleeper = cri.startContainer(nydusPod, "sleeper", image, List.of("/bin/sh", "-c", "sleep 600"));
        assertThat(cri.status(sleeper).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
        Path fuse = fuseMounts().get(0);
        // exited containers' rootfs are unmounted by their shims: only the sleeper's overlay sits on the image
        assertThat(Processes.await(Duration.ofSeconds(20), () -> env.overlayMountsOver(fuse).size() == 1)).isTrue();
        int rootfsMounts = env.overlayMountsOver(root).size(); // every running container and pause of our pods
        long pidBefore = nydusdPids().get(0);
        env.restartSnapshotter();
        assertThat(nydusdPids()).containsExactly(pidBefore); // re-attached, not restarted
        assertThat(fuseMounts()).containsExactly(fuse); // neither unmounted nor mounted twice
        assertThat(env.overlayMountsOver(root)).hasSize(rootfsMounts);
        String id = cri.startContainer(nydusPod, "after-restart", image, List.of("/bin/cat", "/etc/hello.txt"));
        cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(CriClient.logText(nydusPod, "after-restart")).contains("hello from nydus4j e2e");
        assertThat(fuseMounts()).containsExactly(fuse);
        assertThat(Processes.await(Duration.ofSeconds(20), () -> env.overlayMountsOver(fuse).size() == 1))
                .as("the exited container's rootfs is unmounted again, the sleeper's stays").isTrue();
    }

    @Test
    @Order(6)
    void killedNydusdIsRestarted() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        long pid = nydusdPids().get(0);
        Path fuse = fuseMounts().get(0);
        Processes.run(Duration.ofSeconds(10), "kill", "-9", Long.toString(pid));
        assertThat(Processes.await(Duration.ofSeconds(60), () -> {
            List<Long> now = nydusdPids();
            return now.size() == 1 && now.get(0) != pid && fuseMounts().size() == 1
                    && Files.isRegularFile(fuse.resolve("etc/hello.txt"));
        })).as("a new nydusd serves the image").isTrue();
        // the dead connection's mount was replaced at the same place, not stacked under the new one
        assertThat(fuseMounts()).containsExactly(fuse);
        String image = registry.address + "/e2e/busybox-nydus:latest";
        String id = cri.startContainer(nydusPod, "after-kill", image, List.of("/bin/cat", "/etc/os-release"));
        ContainerStatus s = cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(s.getExitCode()).isZero();
        assertThat(CriClient.logText(nydusPod, "after-kill")).contains("nydus4j busybox");
    }

    @Test
    @Order(7)
    void nydusdKilledWhileSnapshotterIsDownIsRestartedOnStart() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        env.snapshotter.close();
        long pid = nydusdPids().get(0);
        Processes.run(Duration.ofSeconds(10), "kill", "-9", Long.toString(pid));
        assertThat(Processes.await(Duration.ofSeconds(10), () -> nydusdPids().isEmpty())).isTrue();
        Path fuse = fuseMounts().get(0); // the dead daemon's mount (ENOTCONN) is still listed
        env.startSnapshotter();
        // recovery at start-up: the stale FUSE mount is replaced by a new daemon's
        assertThat(nydusdPids()).hasSize(1).doesNotContain(pid);
        assertThat(fuseMounts()).containsExactly(fuse);
        assertThat(fuse.resolve("etc/hello.txt")).isRegularFile();
        String image = registry.address + "/e2e/busybox-nydus:latest";
        String id = cri.startContainer(nydusPod, "after-down-kill", image, List.of("/bin/cat", "/etc/hello.txt"));
        ContainerStatus s = cri.awaitExit(id, EXIT_TIMEOUT);
        assertThat(s.getExitCode()).isZero();
        assertThat(CriClient.logText(nydusPod, "after-down-kill")).contains("hello from nydus4j e2e");
    }

    @Test
    @Order(8)
    void removingTheImageStopsItsDaemon() throws Exception {
        Assumptions.assumeTrue(nydusPod != null, "needs the Nydus pod");
        Path fuse = fuseMounts().get(0);
        Path bootstrapSnapshot = fuse.getParent(); // <root>/snapshots/<id> of the image's bootstrap layer
        // the data layer's usage is its blob cache, as upstream's (the first layer's chain id is its digest)
        String blobHex = images.nydusBlobDigest.substring("sha256:".length());
        assertThat(cacheFiles(blobHex)).isNotEmpty();
        String blobUsage = containerd.ctr("-n", "k8s.io", "snapshots", "--snapshotter", "nydus", "usage",
                images.nydusBlobDigest);
        assertThat(blobUsage).doesNotContainPattern(" 0\\.0 B ");
        env.removePod(nydusPod);
        assertThat(env.overlayMountsOver(fuse)).as("container rootfs mounts on the image").isEmpty();
        cri.removeImage(registry.address + "/e2e/busybox-nydus:latest");
        assertThat(Processes.await(Duration.ofSeconds(30), () -> fuseMounts().isEmpty() && nydusdPids().isEmpty()))
                .as("FUSE mount and nydusd gone after the image's snapshots were removed").isTrue();
        assertThat(Processes.await(Duration.ofSeconds(30), () -> !Files.exists(bootstrapSnapshot)))
                .as("the bootstrap snapshot's directory is reclaimed").isTrue();
        assertThat(env.overlayMountsOver(root)).as("only the plain OCI pod's rootfs mounts remain")
                .allSatisfy(mp -> assertThat(mp.toString()).doesNotContain(nydusPod.id()));
        // upstream's Remove of the data layer drops its blob cache; no daemon socket or config dir is left
        assertThat(Processes.await(Duration.ofSeconds(30), () -> cacheFiles(blobHex).isEmpty()))
                .as("blob cache files %s", cacheFiles(blobHex)).isTrue();
        for (String dir : List.of("socket", "config")) {
            try (var left = Files.list(root.resolve(dir))) {
                assertThat(left.toList()).as(dir).isEmpty();
            }
        }
    }

    /** Files of the snapshotter's blob cache whose names start with {@code hex}. */
    private List<Path> cacheFiles(String hex) {
        try (var files = Files.list(root.resolve("cache"))) {
            return files.filter(f -> f.getFileName().toString().startsWith(hex)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private CriClient.Pod runPod(String name) throws IOException {
        return env.runPod(name, "", Map.of());
    }

    private List<Path> fuseMounts() {
        return env.fuseMounts();
    }

    private List<Long> nydusdPids() {
        return env.nydusdPids();
    }
}
