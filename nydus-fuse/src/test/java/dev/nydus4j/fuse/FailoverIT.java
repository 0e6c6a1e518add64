package dev.nydus4j.fuse;

import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.testkit.TreeGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Failover through a supervisor socket with real FUSE (kernel engine, root): daemon A (its own JVM) serves an
 * image and hands its state and /dev/fuse descriptor to a supervisor (sendfd), is killed with SIGKILL, and daemon B
 * started in upgrade mode takes the session over and serves the SAME mount: names looked up before the kill (the
 * kernel keeps their node ids), a file kept open across the kill, and names never looked up before all read the
 * right bytes; no remount happens. Then B unmounts cleanly.
 */
class FailoverIT {
    @TempDir
    Path tmp;
    private Process childA;
    private Path mp;
    private NydusDaemon daemonB;
    private ApiServer apiB;
    private FdSocket.Message kept;
    private CompletableFuture<byte[]> reader;

    @BeforeEach
    void requireRoot() {
        Assumptions.assumeTrue(TreeGenerator.isRoot() && Files.exists(Path.of("/dev/fuse")), "needs root and FUSE");
    }

    @AfterEach
    void cleanup() throws Exception {
        if (childA != null) {
            childA.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (reader != null && !reader.isDone() && mp != null && FuseMount.isMounted(mp)) {
            // a request nobody will answer: abort the connection, or the reader and the umount hang
            String dev = FuseMount.deviceOf(mp);
            Path conn = Path.of("/sys/fs/fuse/connections", dev.substring(dev.indexOf(':') + 1));
            if (!Files.exists(conn)) { // fusectl is not always mounted
                new ProcessBuilder("mount", "-t", "fusectl", "none", "/sys/fs/fuse/connections").start()
                        .waitFor(10, TimeUnit.SECONDS);
            }
            Files.writeString(conn.resolve("abort"), "1");
        }
        if (apiB != null) {
            apiB.close();
        }
        if (daemonB != null) {
            daemonB.close();
        }
        if (mp != null && FuseMount.isMounted(mp)) {
            new ProcessBuilder("umount", "-l", mp.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
        if (kept != null) {
            for (int fd : kept.fds()) {
                FdSocket.closeFd(fd);
            }
        }
    }

    /** The supervisor's receiving half: listens, then keeps what the one daemon connecting sends. */
    private static CompletableFuture<FdSocket.Message> receiveOnce(Path sock) throws IOException {
        FdSocket listener = FdSocket.listen(sock);
        return CompletableFuture.supplyAsync(() -> {
            try (listener; FdSocket c = listener.accept(20_000)) {
                return c.receive(1 << 20, 20_000);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** The supervisor's sending half: listens, then gives the kept state and descriptor to the one that connects. */
    private static CompletableFuture<Void> sendOnce(Path sock, FdSocket.Message m) throws IOException {
        FdSocket listener = FdSocket.listen(sock);
        return CompletableFuture.runAsync(() -> {
            try (listener; FdSocket c = listener.accept(20_000)) {
                c.send(m.data(), m.fds()[0]);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void killedDaemonsMountIsTakenOverAndServesTheSameBytes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random rnd = new Random(11);
        byte[] big = new byte[5 << 20];
        rnd.nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Path deep = Files.createDirectories(src.resolve("a/b/c"));
        for (int i = 0; i < 50; i++) {
            Files.writeString(deep.resolve("f" + i + ".txt"), "file " + i + " " + "x".repeat(i * 37) + "\n");
            Files.writeString(src.resolve("a/g" + i + ".txt"), "other " + i + "\n");
        }
        Files.createSymbolicLink(src.resolve("a/link"), Path.of("b/c/f7.txt"));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult image = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        mp = Files.createDirectories(tmp.resolve("mnt"));
        Path apiA = tmp.resolve("a.sock");
        Path sup = tmp.resolve("supervisor.sock");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = tmp.resolve("a.log");
        childA = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ApiDaemonChild.class.getName(),
                image.bootstrap().toString(), blobs.toString(), mp.toString(), apiA.toString(), sup.toString(), "d1")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ApiClient clientA = new ApiClient(apiA, "test");
        awaitState(clientA, "RUNNING", log);

        // what the kernel learns from A: a deep path's node ids, a listing, an open file half read
        assertThat(Files.readString(mp.resolve("a/b/c/f3.txt"))).isEqualTo("file 3 " + "x".repeat(3 * 37) + "\n");
        try (Stream<Path> l = Files.list(mp.resolve("a/b/c"))) {
            assertThat(l.count()).isEqualTo(50);
        }
        FileChannel open = FileChannel.open(mp.resolve("big.bin"), StandardOpenOption.READ);
        try {
            ByteBuffer first = ByteBuffer.allocate(1 << 20);
            while (first.hasRemaining() && open.read(first) > 0) {
                // fill
            }
            assertThat(Arrays.equals(first.array(), 0, 1 << 20, big, 0, 1 << 20)).isTrue();

            // the snapshotter's order: the supervisor listens, then asks the daemon to send
            CompletableFuture<FdSocket.Message> received = receiveOnce(sup);
            ApiClient.Response r = clientA.send("PUT", "/api/v1/daemon/fuse/sendfd", null);
            assertThat(r.status()).as(r.body()).isEqualTo(204);
            kept = received.get(20, TimeUnit.SECONDS);
            assertThat(kept.fds()).hasSize(1);
            assertThat(new String(kept.data(), StandardCharsets.UTF_8)).contains(SavedState.FORMAT)
                    .contains(image.bootstrap().toString()).contains("\"daemon_id\":\"d1\"");

            childA.destroyForcibly(); // SIGKILL: no unmount, no goodbye
            assertThat(childA.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(FuseMount.isMounted(mp)).as("the mount outlives its daemon (the supervisor holds it)").isTrue();

            // B: upgrade mode, takes over through its own API, serves the same mount
            CompletableFuture<Void> handedBack = sendOnce(sup, kept);
            long t0 = System.nanoTime();
            daemonB = NydusDaemon.upgrade(mp, BackendRegistry.discover(), "d1", sup.toString(), 4, "resend");
            apiB = ApiServer.start(tmp.resolve("b.sock"), daemonB, Map.of("package_ver", "test"), () -> { });
            ApiClient clientB = new ApiClient(tmp.resolve("b.sock"), "test");
            assertThat(clientB.send("GET", "/api/v1/daemon", null).body()).contains("\"state\":\"INIT\"");
            assertThat(clientB.send("PUT", "/api/v1/daemon/start", null).status()).as("start before takeover")
                    .isEqualTo(400);
            r = clientB.send("PUT", "/api/v1/daemon/fuse/takeover", null);
            assertThat(r.status()).as(r.body()).isEqualTo(204);
            handedBack.get(10, TimeUnit.SECONDS);
            assertThat(clientB.send("GET", "/api/v1/daemon", null).body()).contains("\"state\":\"READY\"");
            r = clientB.send("PUT", "/api/v1/daemon/start", null);
            assertThat(r.status()).as(r.body()).isEqualTo(204);
            assertThat(clientB.send("GET", "/api/v1/daemon", null).body()).contains("\"state\":\"RUNNING\"");
            // a figure for benchmarks/RESULTS.md (never asserted): daemon object, API, takeover and start
            System.out.println("failover: upgrade daemon to RUNNING in " + (System.nanoTime() - t0) / 1_000_000
                    + " ms");

            // the open file goes on where it stopped
            ByteBuffer rest = ByteBuffer.allocate(big.length - (1 << 20));
            while (rest.hasRemaining() && open.read(rest) > 0) {
                // fill
            }
            assertThat(rest.hasRemaining()).isFalse();
            assertThat(Arrays.equals(rest.array(), 0, rest.capacity(), big, 1 << 20, big.length)).isTrue();
        } finally {
            open.close();
        }
        // names the kernel resolved through A (cached node ids) and names never looked up before
        for (int i = 0; i < 50; i++) {
            assertThat(Files.readString(mp.resolve("a/b/c/f" + i + ".txt")))
                    .isEqualTo("file " + i + " " + "x".repeat(i * 37) + "\n");
            assertThat(Files.readString(mp.resolve("a/g" + i + ".txt"))).isEqualTo("other " + i + "\n");
        }
        assertThat(Files.readSymbolicLink(mp.resolve("a/link"))).isEqualTo(Path.of("b/c/f7.txt"));
        assertThat(Files.readAllBytes(mp.resolve("big.bin"))).isEqualTo(big);
        try (Stream<Path> l = Files.list(mp.resolve("a"))) {
            assertThat(l.count()).isEqualTo(52); // b, link and g0..g49
        }
        assertThat(Files.readString(log)).doesNotContain("Exception");

        daemonB.close();
        assertThat(FuseMount.isMounted(mp)).as("B unmounts on close").isFalse();
        daemonB = null;
    }

    @Test
    void liveUpgradeSequenceKeepsTheMountAcrossTheOldDaemonsExit() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/dir"));
        Files.writeString(src.resolve("a.txt"), "alpha\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult image = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src.getParent(), tmp.resolve("image.boot"), null, blobs);
        mp = Files.createDirectories(tmp.resolve("mnt"));
        Path apiA = tmp.resolve("a.sock");
        Path sup = tmp.resolve("supervisor.sock");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = tmp.resolve("a.log");
        childA = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ApiDaemonChild.class.getName(),
                image.bootstrap().toString(), blobs.toString(), mp.toString(), apiA.toString(), sup.toString(), "d2")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ApiClient clientA = new ApiClient(apiA, "test");
        awaitState(clientA, "RUNNING", log);
        assertThat(Files.readString(mp.resolve("dir/a.txt"))).isEqualTo("alpha\n");

        // upstream's sequence: old sendfd; new --upgrade (INIT); old exit; supervisor hands over; takeover; start
        CompletableFuture<FdSocket.Message> received = receiveOnce(sup);
        assertThat(clientA.send("PUT", "/api/v1/daemon/fuse/sendfd", null).status()).isEqualTo(204);
        kept = received.get(20, TimeUnit.SECONDS);
        daemonB = NydusDaemon.upgrade(mp, BackendRegistry.discover(), "d2", sup.toString(), 2, "resend");
        assertThat(daemonB.state()).isEqualTo(NydusDaemon.State.INIT);
        assertThat(clientA.send("PUT", "/api/v1/daemon/exit", null).status()).isEqualTo(204);
        assertThat(childA.waitFor(20, TimeUnit.SECONDS)).as("old daemon exits").isTrue();
        assertThat(Files.readString(log)).contains("exiting without unmounting");
        assertThat(FuseMount.isMounted(mp)).as("the old daemon's exit leaves the mount").isTrue();
        CompletableFuture<Void> handedBack = sendOnce(sup, kept);
        daemonB.takeover();
        handedBack.get(10, TimeUnit.SECONDS);
        assertThatThrownBy(daemonB::takeover).hasMessageContaining("invalid event in state READY");
        daemonB.startServing();
        assertThat(daemonB.state()).isEqualTo(NydusDaemon.State.RUNNING);
        assertThat(Files.readString(mp.resolve("dir/a.txt"))).isEqualTo("alpha\n");
        daemonB.close();
        assertThat(FuseMount.isMounted(mp)).isFalse();
        daemonB = null;
    }

    /**
     * A read the killed daemon had taken from the kernel but not answered (its backend was held at a gate) is resent
     * by the kernel once the new daemon is started with failover policy resend (FUSE_NOTIFY_RESEND), and the reader
     * that was waiting gets the right bytes.
     */
    @Test
    void aRequestTheKilledDaemonNeverAnsweredIsResentToTheNextOne() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = new byte[1 << 20];
        new Random(17).nextBytes(data);
        Files.write(src.resolve("data.bin"), data);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult image = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        mp = Files.createDirectories(tmp.resolve("mnt"));
        Path apiA = tmp.resolve("a.sock");
        Path sup = tmp.resolve("supervisor.sock");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = tmp.resolve("a.log");
        childA = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ApiDaemonChild.class.getName(),
                image.bootstrap().toString(), blobs.toString(), mp.toString(), apiA.toString(), sup.toString(), "d4",
                "gated-localfs").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ApiClient clientA = new ApiClient(apiA, "test");
        awaitState(clientA, "RUNNING", log);
        Files.createFile(blobs.resolve(".gate"));
        reader = CompletableFuture.supplyAsync(() -> {
            try {
                return Files.readAllBytes(mp.resolve("data.bin"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (clientA.send("GET", "/api/v1/metrics/inflight", null).status() != 200) { // A holds the READ now
            assertThat(System.nanoTime()).as("a READ reaches daemon A").isLessThan(end);
            Thread.sleep(20);
        }
        CompletableFuture<FdSocket.Message> received = receiveOnce(sup);
        assertThat(clientA.send("PUT", "/api/v1/daemon/fuse/sendfd", null).status()).isEqualTo(204);
        kept = received.get(20, TimeUnit.SECONDS);
        childA.destroyForcibly();
        assertThat(childA.waitFor(10, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(300);
        assertThat(reader.isDone()).as("the reader waits: its READ died with daemon A").isFalse();

        Files.delete(blobs.resolve(".gate"));
        CompletableFuture<Void> handedBack = sendOnce(sup, kept);
        daemonB = NydusDaemon.upgrade(mp, BackendRegistry.discover(), "d4", sup.toString(), 2, "resend");
        daemonB.takeover();
        handedBack.get(10, TimeUnit.SECONDS);
        daemonB.startServing();
        assertThat(reader.get(20, TimeUnit.SECONDS)).isEqualTo(data);
    }

    @Test
    void aRefusedTakeoverLeavesTheDaemonInitAndCanBeRetried() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "alpha\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult image = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        mp = Files.createDirectories(tmp.resolve("mnt"));
        Path sup = tmp.resolve("supervisor.sock");
        NydusDaemon a = NydusDaemon.start(new NydusDaemon.StartupImage(dev.nydus4j.storage.config.NydusdConfigParser
                .parse("{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobs
                        + "\"}}},\"mode\":\"direct\"}", "t"), image.bootstrap(), "/", null), mp,
                BackendRegistry.discover(), "d5", sup.toString(), FuseEngine.KERNEL, 2);
        try {
            assertThat(Files.readString(mp.resolve("a.txt"))).isEqualTo("alpha\n");
            CompletableFuture<FdSocket.Message> received = receiveOnce(sup);
            a.sendStates();
            kept = received.get(20, TimeUnit.SECONDS);
            daemonB = NydusDaemon.upgrade(mp, BackendRegistry.discover(), "d5", sup.toString(), 2, "resend");

            String json = new String(kept.data(), StandardCharsets.UTF_8);
            String[] bad = {json.replace(mp.toString(), "/elsewhere"), json.replace("\"d5\"", "\"d6\""),
                    json.replace(image.bootstrap().toString(), tmp.resolve("gone.boot").toString()),
                    json.replace("\"max_write\":" + FuseInit.MAX_WRITE, "\"max_write\":" + 2 * FuseInit.MAX_WRITE)};
            String[] why = {"is for mountpoint /elsewhere", "is daemon d6's, this daemon is d5", "gone.boot",
                    "negotiated max_write " + 2 * FuseInit.MAX_WRITE};
            for (int i = 0; i < bad.length; i++) {
                CompletableFuture<Void> sent = sendOnce(sup, new FdSocket.Message(
                        bad[i].getBytes(StandardCharsets.UTF_8), kept.fds()));
                assertThatThrownBy(daemonB::takeover).hasMessageContaining(why[i]);
                sent.get(10, TimeUnit.SECONDS);
                assertThat(daemonB.state()).isEqualTo(NydusDaemon.State.INIT);
                assertThat(daemonB.instances()).isEmpty();
            }
            CompletableFuture<Void> sent = sendOnce(sup, kept);
            daemonB.takeover();
            sent.get(10, TimeUnit.SECONDS);
            daemonB.startServing();
            assertThat(Files.readString(mp.resolve("a.txt"))).isEqualTo("alpha\n");
        } finally {
            if (daemonB != null) {
                daemonB.close();
                daemonB = null;
            }
            a.close();
        }
        assertThat(FuseMount.isMounted(mp)).isFalse();
    }

    @Test
    void theLibfuseEngineCannotHandItsSessionOver() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "alpha\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult image = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        mp = Files.createDirectories(tmp.resolve("mnt"));
        daemonB = NydusDaemon.start(new NydusDaemon.StartupImage(dev.nydus4j.storage.config.NydusdConfigParser.parse(
                "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobs + "\"}}},"
                        + "\"mode\":\"direct\"}", "t"), image.bootstrap(), "/", null), mp, BackendRegistry.discover(),
                "d3", tmp.resolve("sup.sock").toString(), FuseEngine.LIBFUSE, 2);
        apiB = ApiServer.start(tmp.resolve("api.sock"), daemonB, Map.of("package_ver", "test"), () -> { });
        ApiClient c = new ApiClient(tmp.resolve("api.sock"), "test");
        ApiClient.Response r = c.send("PUT", "/api/v1/daemon/fuse/sendfd", null);
        assertThat(r.status()).isEqualTo(501);
        assertThat(r.body()).contains("libfuse engine cannot hand its FUSE session over");
        r = c.send("PUT", "/api/v1/daemon/fuse/takeover", null);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("--upgrade");
        assertThat(Files.readString(mp.resolve("a.txt"))).isEqualTo("alpha\n");
    }

    private static void awaitState(ApiClient c, String state, Path log) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < end) {
            try {
                last = c.send("GET", "/api/v1/daemon", null).body();
                if (last.contains("\"state\":\"" + state + "\"")) {
                    return;
                }
            } catch (IOException notYet) {
                // the socket is not bound yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError("daemon did not reach " + state + ": " + last + "\n" + Files.readString(log));
    }
}
