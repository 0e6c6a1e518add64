package dev.nydus4j.snapshotter.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * containerd 1.6 (Debian) with its own config, root, state and sockets under a temp dir (SNAPSHOTTER.md 11.2
 * step 3): CRI with {@code disable_snapshot_annotations = false}, our snapshotter as proxy plugin {@code nydus}
 * (the CRI default), registry over plain http through {@code certs.d}. Also runs {@code ctr} against it.
 */
final class Containerd {
    final Path dir;
    final Path socket;

    private Containerd(Path dir) {
        this.dir = dir;
        this.socket = dir.resolve("containerd.sock");
    }

    /**
     * @param defaultSnapshotter CRI's snapshotter; runtime handler {@code nydus-runc} is set up with ours either way
     */
    static Containerd start(Processes procs, Path dir, String registry, Path snapshotterSocket,
                            String defaultSnapshotter) throws IOException, InterruptedException {
        Containerd c = new Containerd(Files.createDirectories(dir));
        Path certs = Files.createDirectories(dir.resolve("certs.d").resolve(registry));
        Files.writeString(certs.resolve("hosts.toml"), """
                server = "http://%1$s"
                [host."http://%1$s"]
                  capabilities = ["pull", "resolve"]
                """.formatted(registry));
        Path cni = Files.createDirectories(dir.resolve("cni"));
        Files.writeString(dir.resolve("config.toml"), """
                version = 2
                root = "%1$s/root"
                state = "%1$s/state"
                oom_score = 0
                [grpc]
                  address = "%2$s"
                [ttrpc]
                  address = "%2$s.ttrpc"
                [debug]
                  address = "%1$s/debug.sock"
                  level = "info"
                [metrics]
                  address = ""
                [plugins."io.containerd.internal.v1.opt"]
                  path = "%1$s/opt"
                [plugins."io.containerd.gc.v1.scheduler"]
                  # no background collection: ctr-made snapshots have no lease, and a collection running between
                  # two ctr calls removed them; tests collect explicitly (gc()) or through CRI's synchronous deletes
                  deletion_threshold = 0
                  mutation_threshold = 1000000
                  startup_delay = "1h"
                [plugins."io.containerd.grpc.v1.cri"]
                  sandbox_image = "%3$s/e2e/pause:latest"
                  restrict_oom_score_adj = true
                  [plugins."io.containerd.grpc.v1.cri".containerd]
                    snapshotter = "%6$s"
                    disable_snapshot_annotations = false
                    discard_unpacked_layers = false
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                    runtime_type = "io.containerd.runc.v2"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    Root = "%1$s/runc"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nydus-runc]
                    runtime_type = "io.containerd.runc.v2"
                    snapshotter = "nydus"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nydus-runc.options]
                    Root = "%1$s/runc"
                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "/usr/lib/cni"
                    conf_dir = "%4$s"
                  [plugins."io.containerd.grpc.v1.cri".registry]
                    config_path = "%1$s/certs.d"
                [proxy_plugins]
                  [proxy_plugins.nydus]
                    type = "snapshot"
                    address = "%5$s"
                """.formatted(dir, c.socket, registry, cni, snapshotterSocket, defaultSnapshotter));
        procs.start("containerd", List.of("containerd", "--config", dir.resolve("config.toml").toString()));
        boolean up = Processes.await(Duration.ofSeconds(30), () -> {
            try {
                c.ctr("version");
                return true;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        if (!up) {
            throw new IOException("containerd did not come up; see " + procs.log("containerd"));
        }
        c.awaitSnapshotter(snapshotterSocket);
        return c;
    }

    /**
     * Waits until containerd reaches the proxy snapshotter, as upstream's integration helper does: its dial is lazy
     * and backs off up to 3 s after a failure (e.g. while the snapshotter restarts). {@code ls} is answered from
     * containerd's own database, so a prepare/rm of a dummy snapshot is what really reaches the proxy.
     */
    void awaitSnapshotter(Path snapshotterSocket) throws IOException, InterruptedException {
        boolean proxy = Processes.await(Duration.ofSeconds(30), () -> {
            try {
                ctr("snapshots", "--snapshotter", "nydus", "prepare", "connectiontest-dummy", "");
                ctr("snapshots", "--snapshotter", "nydus", "rm", "connectiontest-dummy");
                return true;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        if (!proxy) {
            throw new IOException("containerd cannot reach the snapshotter at " + snapshotterSocket);
        }
    }

    /** Runs containerd's garbage collection now and waits for it (deleting a lease with --sync does that). */
    void gc() throws IOException, InterruptedException {
        String id = "e2e-gc-" + System.nanoTime();
        ctr("leases", "create", "--id", id);
        ctr("leases", "delete", "--sync", id);
    }

    /** Runs {@code ctr --address <socket> args...} and returns its output; fails on a non-zero exit. */
    String ctr(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ctr", "--address", socket.toString()));
        cmd.addAll(List.of(args));
        return Processes.run(Duration.ofMinutes(2), cmd.toArray(String[]::new));
    }
}
