package dev.nydus4j.snapshotter.e2e;

import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shared daemon mode: two Nydus images in two pods are served by one nydusd with one FUSE mount (sub-mounts per
 * image through the daemon's API), as upstream's integration test counts ({@code mount -t fuse | wc -l} = 1). The
 * daemon starts with the snapshotter and outlives its images, as upstream's.
 * (containerd 1.6.20 ignores a runtime-level {@code snapshotter} for pulls: with overlayfs as the default and
 * runtime handler {@code nydus-runc} the pull fails with "no processor for media-type" for the blob layer; that
 * set-up needs containerd 1.7. Here ours is CRI's default snapshotter.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedDaemonIT {
    private E2eEnvironment env;

    @BeforeAll
    void setUp() throws Exception {
        env = E2eEnvironment.open(SnapshotterConfig.DaemonMode.SHARED, "nydus", List.of("second-nydus"));
    }

    @AfterAll
    void tearDown() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static List<Path> listing(Path dir) {
        try (var s = Files.list(dir)) {
            return s.toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    @Order(1)
    void twoImagesShareOneDaemonAndOneFuseMount() throws Exception {
        Path mnt = env.root.resolve("mnt");
        // started with the snapshotter (upstream's initSharedDaemon), before any image
        assertThat(env.nydusdPids()).hasSize(1);
        long pid = env.nydusdPids().get(0);
        assertThat(env.fuseMounts()).containsExactly(mnt);
        String first = env.image("busybox-nydus");
        String second = env.image("second-nydus");
        env.cri.pull(first);
        env.cri.pull(second);
        CriClient.Pod a = env.runPod("shared-a", "", Map.of());
        CriClient.Pod b = env.runPod("shared-b", "", Map.of());
        String ca = env.cri.startContainer(a, "a", first, List.of("/bin/sh", "-c",
                "cat /etc/hello.txt; grep ' / ' /proc/self/mountinfo"));
        String cb = env.cri.startContainer(b, "b", second, List.of("/bin/sh", "-c",
                "cat /etc/image-name; grep ' / ' /proc/self/mountinfo"));
        ContainerStatus sa = env.cri.awaitExit(ca, Duration.ofSeconds(60));
        ContainerStatus sb = env.cri.awaitExit(cb, Duration.ofSeconds(60));
        String logA = CriClient.logText(a, "a");
        String logB = CriClient.logText(b, "b");
        assertThat(sa.getExitCode()).as(logA).isZero();
        assertThat(sb.getExitCode()).as(logB).isZero();
        assertThat(logA).contains("hello from nydus4j e2e").containsPattern("lowerdir=" + mnt + "/[0-9]+,");
        assertThat(logB).contains("second-nydus").containsPattern("lowerdir=" + mnt + "/[0-9]+,");
        assertThat(env.fuseMounts()).containsExactly(mnt);
        assertThat(env.nydusdPids()).containsExactly(pid);
        Path subA = Path.of(logA.replaceAll("(?s).*lowerdir=([^,]+),.*", "$1").strip());
        assertThat(subA.getParent()).isEqualTo(mnt);

        env.removePod(a);
        env.cri.removeImage(first);
        // containerd's GC removes the image's snapshots asynchronously; the sub-mount goes with them
        assertThat(Processes.await(Duration.ofSeconds(30), () -> !Files.exists(subA)))
                .as("the first image's sub-mount is gone").isTrue();
        assertThat(env.nydusdPids()).as("the daemon still serves the second image").containsExactly(pid);
        assertThat(env.overlayMountsOver(mnt)).as("no rootfs left on the shared mount (both containers exited)")
                .isEmpty();
        env.removePod(b);
        env.cri.removeImage(second);
        assertThat(Processes.await(Duration.ofSeconds(30), () -> env.snapshotter != null
                && listing(mnt).isEmpty())).as("no sub-mount left once both images are removed").isTrue();
        // as upstream's, the shared daemon and its one FUSE mount live as long as the snapshotter
        assertThat(env.nydusdPids()).containsExactly(pid);
        assertThat(env.fuseMounts()).containsExactly(mnt);
    }

    @Test
    @Order(2)
    void restartInDedicatedModeLeavesNoSharedDaemon() throws Exception {
        Path mnt = env.root.resolve("mnt");
        List<Long> shared = env.nydusdPids();
        assertThat(shared).as("the idle shared daemon of test 1").hasSize(1);
        // the snapshotter goes down, its idle shared daemon dies, and it comes back in dedicated mode (same root)
        env.snapshotter.close();
        Processes.run(Duration.ofSeconds(10), "kill", "-9", Long.toString(shared.get(0)));
        assertThat(Processes.await(Duration.ofSeconds(10), () -> env.nydusdPids().isEmpty())).isTrue();
        env.startSnapshotter(SnapshotterConfig.DaemonMode.DEDICATED);
        // no stray daemon restarted from the old state, and its dead mount is cleared
        assertThat(env.nydusdPids()).isEmpty();
        assertThat(env.fuseMounts()).isEmpty();
        String image = env.image("busybox-nydus");
        env.cri.pull(image);
        CriClient.Pod p = env.runPod("dedicated-after-shared", "", Map.of());
        String c = env.cri.startContainer(p, "c", image, List.of("/bin/cat", "/etc/hello.txt"));
        ContainerStatus s = env.cri.awaitExit(c, Duration.ofSeconds(60));
        assertThat(s.getExitCode()).isZero();
        assertThat(CriClient.logText(p, "c")).contains("hello from nydus4j e2e");
        assertThat(env.fuseMounts()).singleElement().satisfies(f -> assertThat(f.toString())
                .startsWith(env.root.resolve("snapshots").toString()).endsWith("/mnt"));
        assertThat(env.nydusdPids()).hasSize(1);
        assertThat(env.fuseMounts()).doesNotContain(mnt);
    }
}
