package dev.nydus4j.snapshotter.cli;

import dev.nydus4j.snapshotter.SnapshotterConfig;
import dev.nydus4j.snapshotter.SnapshotterServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** containerd-nydus-grpc and nydus-overlayfs command lines. */
class CliTest {
    @TempDir
    Path tmp;

    private record Run(int status, String out, String err) {
    }

    private static Run grpc(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = ContainerdNydusGrpc.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(rc, out.toString(), err.toString());
    }

    @Test
    void helpListsUpstreamFlags() {
        Run r = grpc("--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("--nydusd-config", "--config", "--root", "--address", "--nydusd-path",
                "--log-level", "--log-to-stdout", "--daemon-mode");
    }

    @Test
    void acceptsUpstreamIntegrationCommandLine() throws Exception {
        // integration/entrypoint.sh of containerd/nydus-snapshotter starts the snapshotter exactly so
        Path json = tmp.resolve("config.json");
        Files.writeString(json, "{}");
        var c = ContainerdNydusGrpc.settingsOf("--daemon-mode", "multiple", "--fs-driver", "fusedev",
                "--recover-policy", "none", "--log-to-stdout", "--config-path", json.toString(),
                "--nydus-image", "/usr/bin/nydus-image", "--root", tmp.toString());
        assertThat(c.nydusdConfig()).isEqualTo(json);
        assertThat(c.recoverPolicy()).isEqualTo(SnapshotterConfig.RecoverPolicy.NONE);
        assertThat(c.daemonMode()).isEqualTo(SnapshotterConfig.DaemonMode.DEDICATED);
        assertThat(ContainerdNydusGrpc.settingsOf("--recover-policy", "failover", "--log-to-stdout", "--root",
                tmp.toString()).recoverPolicy()).isEqualTo(SnapshotterConfig.RecoverPolicy.FAILOVER);
        assertThat(ContainerdNydusGrpc.settingsOf("--log-to-stdout", "--root", tmp.toString()).recoverPolicy())
                .isEqualTo(SnapshotterConfig.RecoverPolicy.RESTART);
        Run bad = grpc("--recover-policy", "sometimes", "--root", tmp.toString(), "--log-to-stdout");
        assertThat(bad.status()).isNotZero();
        assertThat(bad.err()).contains("recover_policy 'sometimes'");
    }

    @Test
    void sigintStopsItEvenWhenStartedWithSigintIgnored() throws Exception {
        // as upstream's integration script: started in the background of a shell script (SIGINT ignored), then
        // restarted with killall -INT
        Path sock = tmp.resolve("grpc.sock");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("sh", "-c", "trap '' INT; exec \"$0\" -cp \"$1\" " + ContainerdNydusGrpc.class
                .getName() + " --root \"$2\" --address \"$3\" --log-to-stdout", javaBin,
                System.getProperty("java.class.path"), tmp.resolve("root").toString(), sock.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("out.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.exists(sock) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(sock).as(Files.readString(tmp.resolve("out.log"))).exists();
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS))
                    .as("exited on SIGINT; output: %s", Files.readString(tmp.resolve("out.log"))).isTrue();
            assertThat(p.exitValue()).as("a clean stop, as upstream's").isZero();
            assertThat(sock).as("removed by the orderly shutdown").doesNotExist();
            assertThat(Files.readString(tmp.resolve("out.log"))).contains("containerd-nydus-grpc stopped");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badFlagsFailWithAMessage() {
        Run r = grpc("--fs-driver", "fscache", "--root", tmp.toString());
        assertThat(r.status()).isNotZero();
        assertThat(r.err()).contains("fscache").contains("fusedev");
        Run u = grpc("--no-such-flag");
        assertThat(u.status()).isEqualTo(2);
        assertThat(u.err()).contains("--no-such-flag");
        Run m = grpc("--daemon-mode", "none", "--root", tmp.toString(), "--log-to-stdout");
        assertThat(m.status()).isNotZero();
        assertThat(m.err()).contains("daemon_mode 'none' is not supported");
    }

    @Test
    void startsWithFlagsOverTheTomlFile() throws Exception {
        Path toml = tmp.resolve("config.toml");
        Files.writeString(toml, "version = 1\nroot = \"" + tmp.resolve("from-toml") + "\"\naddress = \""
                + tmp.resolve("toml.sock") + "\"\n[log]\nlevel = \"warn\"\n");
        try (SnapshotterServer s = ContainerdNydusGrpc.start("--config", toml.toString(), "--address",
                tmp.resolve("flag.sock").toString(), "--log-to-stdout")) {
            assertThat(s.socket()).isEqualTo(tmp.resolve("flag.sock"));
            assertThat(tmp.resolve("flag.sock")).exists();
            assertThat(tmp.resolve("from-toml/snapshots")).isDirectory();
        }
        assertThat(tmp.resolve("flag.sock")).doesNotExist();
    }

    @Test
    void overlayfsHelperRejectsBadArguments() {
        StringWriter err = new StringWriter();
        assertThat(NydusOverlayfs.execute(new String[]{"overlay"}, new PrintWriter(new StringWriter()),
                new PrintWriter(err))).isEqualTo(2);
        assertThat(err.toString()).contains("usage: nydus-overlayfs");
    }

    @Test
    void defaultNydusdFallsBackToTheLauncherDirectoryOnlyWhenNotOnPath(@TempDir Path t) throws Exception {
        Path bin = Files.createDirectories(t.resolve("bin"));
        Path ours = Files.writeString(bin.resolve("nydusd"), "#!/bin/sh\n");
        ours.toFile().setExecutable(true);
        Path onPath = Files.createDirectories(t.resolve("path"));
        assertThat(ContainerdNydusGrpc.defaultNydusd("nydusd",
                java.util.Map.of("PATH", onPath.toString(), "NYDUS4J_BIN", bin.toString()))).isEqualTo(ours.toString());
        Path other = Files.writeString(onPath.resolve("nydusd"), "#!/bin/sh\n");
        other.toFile().setExecutable(true);
        assertThat(ContainerdNydusGrpc.defaultNydusd("nydusd",
                java.util.Map.of("PATH", onPath.toString(), "NYDUS4J_BIN", bin.toString()))).isEqualTo("nydusd");
        assertThat(ContainerdNydusGrpc.defaultNydusd("/opt/x/nydusd",
                java.util.Map.of("NYDUS4J_BIN", bin.toString()))).isEqualTo("/opt/x/nydusd");
    }
}
