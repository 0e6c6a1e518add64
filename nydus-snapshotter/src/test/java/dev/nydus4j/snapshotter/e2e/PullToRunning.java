package dev.nydus4j.snapshotter.e2e;

import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.proto.cri.ContainerState;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One measurement of {@code benchmarks/scripts/pull-to-running.sh}: a fresh containerd 1.6 (own root, state and
 * sockets under {@code WORK}) with {@code SNAPSHOTTER} as CRI's default and our snapshotter as proxy plugin
 * {@code nydus} (forking {@code NYDUSD}; SNAPSHOTTER {@code nydus} = dedicated daemons, {@code nydus-shared} = the
 * shared daemon, started with the snapshotter), images from an already running {@code REGISTRY}. The pause image is pulled
 * first (a node has it); then the clock starts: CRI PullImage, RunPodSandbox, CreateContainer, StartContainer, until
 * the container is RUNNING; then until the workload (CMD, run by /bin/sh -c) has exited. Prints one line
 * {@code RESULT snapshotter=.. image=.. pull_ms=.. running_ms=.. done_ms=.. exit=..}, removes everything it started.
 *
 * <p>Usage: {@code PullToRunning WORK REGISTRY SNAPSHOTTER IMAGE NYDUSD CMD}
 */
public final class PullToRunning {
    private PullToRunning() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: PullToRunning WORK REGISTRY SNAPSHOTTER IMAGE NYDUSD CMD");
            System.exit(2);
        }
        Path work = Files.createDirectories(Path.of(args[0]));
        String registry = args[1];
        String snapshotter = args[2];
        SnapshotterConfig.DaemonMode mode = snapshotter.equals("nydus-shared")
                ? SnapshotterConfig.DaemonMode.SHARED : SnapshotterConfig.DaemonMode.DEDICATED;
        String image = args[3];
        Path nydusd = Path.of(args[4]);
        String cmd = args[5];
        int exit;
        try (E2eEnvironment env = E2eEnvironment.external(work, registry,
                snapshotter.startsWith("nydus") ? "nydus" : snapshotter, mode, nydusd)) {
            env.cri.pull(registry + "/e2e/pause:latest");
            long t0 = System.nanoTime();
            env.cri.pull(image);
            long pulled = System.nanoTime();
            CriClient.Pod pod = env.runPod("bench", "", Map.of());
            String id = env.cri.startContainer(pod, "workload", image, List.of("/bin/sh", "-c", cmd));
            ContainerStatus s = env.cri.status(id);
            long running = System.nanoTime();
            if (s.getState() != ContainerState.CONTAINER_RUNNING && s.getState() != ContainerState.CONTAINER_EXITED) {
                throw new IllegalStateException("container not running after StartContainer: " + s);
            }
            s = env.cri.awaitExit(id, Duration.ofMinutes(20));
            long done = System.nanoTime();
            exit = s.getExitCode();
            String log = CriClient.logText(pod, "workload");
            System.out.printf("workload output: %s%n", log.strip().replace('\n', '|'));
            System.out.printf("RESULT snapshotter=%s image=%s pull_ms=%d running_ms=%d done_ms=%d exit=%d fuse=%d%n",
                    snapshotter, image.substring(image.lastIndexOf('/') + 1), ms(pulled - t0), ms(running - t0),
                    ms(done - t0), exit, env.fuseMounts().size());
        }
        System.exit(exit == 0 ? 0 : 1);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
