package dev.nydus4j.snapshotter;

import dev.nydus4j.fuse.FuseMount;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.snapshotter.e2e.ForkedNydusd;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code recover_policy = "failover"} with real nydusd processes and FUSE (root): the snapshotter's daemon saves
 * its session to its supervisor right after it starts; after a SIGKILL the watcher starts a daemon with
 * {@code --upgrade} that takes the session over, and the SAME mount (same device number: no remount) goes on
 * serving, including a file held open across the kill; a shared daemon keeps both sub-images and its API mounts.
 * Removing the image then unmounts. Runs {@code ForkedNydusd}; {@code -Dnydus4j.failover.nydusd=bin/nydusd} runs the
 * project's nydusd instead.
 */
class NydusdFailoverIT {
    @TempDir
    Path tmp;
    private Layout layout;
    private Path blobs;

    @BeforeEach
    void setUp() throws java.io.IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/dev/fuse")),
                "needs root and FUSE");
        layout = new Layout(tmp.resolve("sn")).create();
        blobs = Files.createDirectories(tmp.resolve("blobs"));
    }

    @Test
    void killedDedicatedDaemonIsFailedOverWithoutARemount() throws Exception {
        long snap = 7;
        Path src = Files.createDirectories(tmp.resolve("src" + snap + "/etc"));
        Files.writeString(src.resolve("later.txt"), "read while no daemon serves\n");
        byte[] big = new byte[3 << 20];
        new Random(5).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        imageWithOneFile(snap, "hello.txt", "hello failover\n"); // and the two files above
        NydusdManager m = NydusdManager.open(layout, settings(SnapshotterConfig.DaemonMode.DEDICATED));
        Path mp = null;
        try {
            mp = m.mount(committed(snap, "sha256:layer"));
            assertThat(Files.readString(mp.resolve("etc/hello.txt"))).isEqualTo("hello failover\n");
            NydusdProcess first = m.daemonOf(snap);
            String device = device(mp);
            try (FileChannel open = FileChannel.open(mp.resolve("etc/big.bin"), StandardOpenOption.READ)) {
                ByteBuffer head = ByteBuffer.allocate(1 << 20);
                while (head.hasRemaining() && open.read(head) > 0) {
                    // fill
                }
                assertThat(Arrays.equals(head.array(), 0, 1 << 20, big, 0, 1 << 20)).isTrue();

                ProcessHandle.of(first.pid()).orElseThrow().destroyForcibly(); // kill -9
                long killed = System.nanoTime();
                Path mnt = mp;
                // a name never looked up: its LOOKUP waits in the kernel until the next daemon answers, no error
                java.util.concurrent.CompletableFuture<String> during = java.util.concurrent.CompletableFuture
                        .supplyAsync(() -> {
                            try {
                                return Files.readString(mnt.resolve("etc/later.txt"));
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                        });
                NydusdProcess next = awaitReplacement(m, snap, first.pid());
                assertThat(during.get(30, TimeUnit.SECONDS)).isEqualTo("read while no daemon serves\n");
                System.out.println("failover: a read issued right after kill -9 returned after "
                        + (System.nanoTime() - killed) / 1_000_000 + " ms"); // for RESULTS.md, never asserted
                assertThat(device(mp)).as("the same FUSE mount, not a new one").isEqualTo(device);

                ByteBuffer rest = ByteBuffer.allocate(big.length - (1 << 20));
                while (rest.hasRemaining() && open.read(rest) > 0) {
                    // fill
                }
                assertThat(Arrays.equals(rest.array(), 0, rest.capacity(), big, 1 << 20, big.length)).isTrue();
            }
            assertThat(Files.readString(mp.resolve("etc/hello.txt"))).isEqualTo("hello failover\n");
            assertThat(Files.readAllBytes(mp.resolve("etc/big.bin"))).isEqualTo(big);
            StringBuilder log = new StringBuilder(); // ForkedNydusd logs to stdout, nydusd to --log-file
            try (var files = Files.list(layout.daemonLog("nydusd-" + snap).getParent())) {
                for (Path f : files.toList()) {
                    log.append(Files.readString(f, StandardCharsets.UTF_8));
                }
            }
            assertThat(log.toString()).contains("took over the FUSE session");

            m.umount(snap);
            assertThat(FuseMount.isMounted(mp)).as("removing the image unmounts").isFalse();
        } finally {
            shutDown(m, mp);
        }
    }

    @Test
    void aDaemonReattachedByARestartedSnapshotterIsFailedOverToo() throws Exception {
        long snap = 9;
        imageWithOneFile(snap, "a.txt", "kept across a snapshotter restart\n");
        SnapshotterConfig base = settings(SnapshotterConfig.DaemonMode.DEDICATED);
        // daemon.failover_policy reaches every nydusd, the first and its replacement
        SnapshotterConfig settings = new SnapshotterConfig(base.root(), base.address(), base.nydusdConfig(),
                base.nydusdPath(), base.daemonMode(), base.threads(), base.nydusdLogLevel(), base.recoverPolicy(),
                base.volatileUpper(), base.cleanupOnClose(), base.dockerConfig(), "flush");
        NydusdManager first = NydusdManager.open(layout, settings);
        NydusdManager second = null;
        Path mp = null;
        try {
            mp = first.mount(committed(snap, "sha256:l9"));
            long pid = first.daemonOf(snap).pid();
            assertThat(commandLine(pid)).containsSubsequence("--failover-policy", "flush");
            first.close(); // the snapshotter goes away; its daemon and its supervisor's copy stay in this JVM
            second = NydusdManager.open(layout, settings); // re-attaches and asks the daemon for its session again
            assertThat(second.daemonOf(snap).pid()).isEqualTo(pid);
            String device = device(mp);
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            NydusdProcess next = awaitReplacement(second, snap, pid);
            assertThat(commandLine(next.pid())).containsSubsequence("--upgrade").containsSubsequence(
                    "--failover-policy", "flush");
            assertThat(device(mp)).isEqualTo(device);
            assertThat(Files.readString(mp.resolve("etc/a.txt"))).isEqualTo("kept across a snapshotter restart\n");
        } finally {
            if (second != null) {
                second.stopAll();
                second.close();
            } else {
                first.stopAll();
            }
            unmountQuietly(mp);
        }
    }

    @Test
    void aFailedFailoverFallsBackToARestartWithoutHanging() throws Exception {
        long snap = 11;
        imageWithOneFile(snap, "a.txt", "served again\n");
        SnapshotterConfig base = settings(SnapshotterConfig.DaemonMode.DEDICATED);
        // a nydusd that cannot take over (an --upgrade start fails at once)
        Files.createDirectories(tmp.resolve("bin"));
        Path failing = Files.writeString(tmp.resolve("bin/nydusd-no-upgrade"), "#!/bin/sh\ncase \" $* \" in\n"
                + "  *' --upgrade '*) echo 'upgrade refused by the test' >&2; exit 3;;\nesac\nexec '"
                + base.nydusdPath() + "' \"$@\"\n");
        assertThat(failing.toFile().setExecutable(true)).isTrue();
        SnapshotterConfig settings = new SnapshotterConfig(base.root(), base.address(), base.nydusdConfig(),
                failing.toString(), base.daemonMode(), base.threads(), base.nydusdLogLevel(), base.recoverPolicy(),
                false, false, base.dockerConfig());
        NydusdManager m = NydusdManager.open(layout, settings);
        Path mp = null;
        try {
            mp = m.mount(committed(snap, "sha256:l11"));
            long pid = m.daemonOf(snap).pid();
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            NydusdProcess next = awaitReplacement(m, snap, pid);
            // the kept session was dropped (its connection aborted), the stale mount removed, a new one made by a
            // plain start (the mount id and device number of the freed mount are reused: not a sign)
            assertThat(Files.readString(Path.of("/proc", Long.toString(next.pid()), "cmdline")))
                    .contains("--mountpoint").doesNotContain("--upgrade");
            assertThat(Files.readString(mp.resolve("etc/a.txt"))).isEqualTo("served again\n");
        } finally {
            shutDown(m, mp);
        }
    }

    @Test
    void killedSharedDaemonIsFailedOverWithItsSubMounts() throws Exception {
        for (long snap : new long[]{3, 4}) {
            imageWithOneFile(snap, "name.txt", "image " + snap + "\n");
        }
        NydusdManager m = NydusdManager.open(layout, settings(SnapshotterConfig.DaemonMode.SHARED));
        try {
            Path mp3 = m.mount(committed(3, "sha256:l3"));
            Path mp4 = m.mount(committed(4, "sha256:l4"));
            assertThat(Files.readString(mp3.resolve("etc/name.txt"))).isEqualTo("image 3\n");
            assertThat(Files.readString(mp4.resolve("etc/name.txt"))).isEqualTo("image 4\n");
            NydusdProcess first = m.daemonOf(3);
            String device = device(layout.sharedMountpoint());

            ProcessHandle.of(first.pid()).orElseThrow().destroyForcibly();
            NydusdProcess next = awaitReplacement(m, 3, first.pid());
            assertThat(device(layout.sharedMountpoint())).as("the same FUSE mount").isEqualTo(device);
            // both sub-images, by the names the kernel cached (node ids carry each image's instance number)
            assertThat(Files.readString(mp3.resolve("etc/name.txt"))).isEqualTo("image 3\n");
            assertThat(Files.readString(mp4.resolve("etc/name.txt"))).isEqualTo("image 4\n");
            assertThat(next.state()).isEqualTo("RUNNING");

            // live upgrade of the replacement: old exits through its API, the next one takes over, same mount
            m.liveUpgrade(NydusdManager.SHARED_ID);
            NydusdProcess upgraded = m.daemonOf(3);
            assertThat(upgraded.pid()).isNotEqualTo(next.pid());
            assertThat(ProcessHandle.of(next.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(device(layout.sharedMountpoint())).isEqualTo(device);
            assertThat(Files.readString(mp4.resolve("etc/name.txt"))).isEqualTo("image 4\n");

            m.umount(4); // the new daemon serves the API mounts too; its saved state follows
            assertThat(Files.exists(mp4.resolve("etc"))).isFalse();
            assertThat(Files.readString(mp3.resolve("etc/name.txt"))).isEqualTo("image 3\n");
        } finally {
            shutDown(m, layout.sharedMountpoint());
        }
    }

    /** A one-file image ({@code etc/<name>} under {@code tmp/src<snap>}) built at snapshot {@code snap}'s bootstrap. */
    private void imageWithOneFile(long snap, String name, String content) throws java.io.IOException {
        Path src = Files.createDirectories(tmp.resolve("src" + snap + "/etc"));
        Files.writeString(src.resolve(name), content);
        Files.createDirectories(layout.bootstrap(snap).getParent());
        new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src.getParent(), layout.bootstrap(snap), null, blobs);
    }

    private static SnapshotRecord committed(long snap, String key) {
        Instant now = Instant.now();
        return new SnapshotRecord(snap, key, "", Kind.COMMITTED, now, now, Map.of(), 0, 0);
    }

    /** Stops the daemons, closes the manager, and lazily unmounts {@code mp} if a failure left it mounted. */
    private static void shutDown(NydusdManager m, Path mp) throws Exception {
        m.stopAll();
        m.close();
        unmountQuietly(mp);
    }

    private static void unmountQuietly(Path mp) throws Exception {
        if (mp != null && FuseMount.isMounted(mp)) {
            new ProcessBuilder("umount", "-l", mp.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private SnapshotterConfig settings(SnapshotterConfig.DaemonMode mode) throws java.io.IOException {
        Path seed = Files.writeString(tmp.resolve("seed.json"), "{\"device\":{\"backend\":{\"type\":\"localfs\","
                + "\"config\":{\"dir\":\"" + blobs + "\"}}},\"mode\":\"direct\"}");
        String given = System.getProperty("nydus4j.failover.nydusd"); // e.g. bin/nydusd: the real command line
        Path script = given != null ? Path.of(given).toAbsolutePath() : tmp.resolve("bin/nydusd");
        if (given == null) {
            Files.createDirectories(script.getParent());
            Files.writeString(script, "#!/bin/sh\nexec '" + Path.of(System.getProperty("java.home"), "bin", "java")
                    + "' -Xmx256m -cp '" + System.getProperty("java.class.path") + "' " + ForkedNydusd.class.getName()
                    + " \"$@\"\n");
            assertThat(script.toFile().setExecutable(true)).isTrue();
        }
        return new SnapshotterConfig(layout.root(), tmp.resolve("grpc.sock"), seed, script.toString(), mode, 2,
                "info", SnapshotterConfig.RecoverPolicy.FAILOVER, false, false, tmp.resolve("docker.json"));
    }

    /** A process's arguments, from /proc. */
    private static List<String> commandLine(long pid) throws java.io.IOException {
        String raw = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")),
                java.nio.charset.StandardCharsets.UTF_8);
        return List.of(raw.split("\0"));
    }

    private static NydusdProcess awaitReplacement(NydusdManager m, long snap, long oldPid) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        NydusdProcess next = null;
        while (System.nanoTime() < end) {
            next = m.daemonOf(snap);
            if (next != null && next.pid() != oldPid && next.isHealthy()) {
                return next;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no healthy replacement of pid " + oldPid + " within 45 s: " + next);
    }

    /**
     * The mount id and {@code major:minor} of the mount at {@code mp} (/proc/self/mountinfo fields 1 and 3): a new
     * mount gets a new id (the device number of a freed FUSE connection may be reused).
     */
    private static String device(Path mp) throws Exception {
        String dev = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(mp.toString())) {
                dev = f[0] + " " + f[2];
            }
        }
        assertThat(dev).as("mounted at " + mp).isNotNull();
        return dev;
    }
}
