package dev.nydus4j.fuse;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Mounts images with our FUSE daemon (root + /dev/fuse + libfuse2 only; skipped otherwise). Every test runs on the
 * default engine (the kernel session as root); the tree comparison and the read-only/remount test run on both.
 */
class FuseMountIT {
    @TempDir
    Path tmp;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void requireFuse() {
        assumeFuseMountable();
    }

    /** Skips the calling test unless it can mount: root, /dev/fuse and libfuse2 (for the libfuse engine). */
    static void assumeFuseMountable() {
        Assumptions.assumeTrue(TreeGenerator.isRoot(), "FUSE tests need root");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")), "FUSE tests need /dev/fuse");
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libfuse.so.2"))
                || Files.exists(Path.of("/lib/x86_64-linux-gnu/libfuse.so.2")), "FUSE tests need libfuse2");
    }

    @AfterEach
    void cleanup() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private NydusDaemon serve(Path bootstrap, Path blobDir, Path cache) throws IOException {
        return serve(bootstrap, blobDir, cache, "", FuseEngine.byDefault());
    }

    private NydusDaemon serve(Path bootstrap, Path blobDir, Path cache, FuseEngine engine) throws IOException {
        return serve(bootstrap, blobDir, cache, "", engine);
    }

    private NydusDaemon serve(Path bootstrap, Path blobDir, Path cache, String extra) throws IOException {
        return serve(bootstrap, blobDir, cache, extra, FuseEngine.byDefault());
    }

    private NydusDaemon serve(Path bootstrap, Path blobDir, Path cache, String extra, FuseEngine engine)
            throws IOException {
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobDir + "\"}},"
                + "\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + cache + "\"}}},"
                + "\"mode\":\"direct\",\"digest_validate\":false,\"enable_xattr\":true" + extra + "}";
        NydusdConfig config = NydusdConfigParser.parse(cfg, "test");
        Path mp = Files.createDirectories(tmp.resolve("mnt" + open.size()));
        NydusDaemon d = NydusDaemon.start(new NydusDaemon.StartupImage(config, bootstrap, "/", null), mp,
                BackendRegistry.discover(), null, null, engine, NydusDaemon.DEFAULT_THREADS);
        open.add(d);
        assertThat(d.mount().engine()).isEqualTo(engine.cliName());
        return d;
    }

    @ParameterizedTest
    @EnumSource(FuseEngine.class)
    void mountedTreeEqualsSourceAndReadsAreLazy(FuseEngine engine) throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.Generated g = TreeGenerator.generate(src, TreeGenerator.options().chunkSize(64 * 1024).scale(0.5));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildOptions opts = BuildOptions.defaults().withSourceType(SourceType.DIR).withChunkSize(64 * 1024);
        BuildResult r = new ImageBuilder(opts).build(src, tmp.resolve("image.boot"), null, blobs);
        NydusDaemon d = serve(r.bootstrap(), blobs, tmp.resolve("cache"), engine);
        assertThat(d.backendReadCount()).as("nothing fetched at mount").isZero();

        TreeSnapshot expected = TreeSnapshot.of(src);
        TreeSnapshot actual = TreeSnapshot.of(d.mount().mountpoint());
        assertThat(expected.diff(actual, TreeSnapshot.Field.DIR_NLINK))
                .as("seed %d", g.seed()).isEmpty();
        assertThat(d.backendReadCount()).isPositive();
    }

    @Test
    void concurrentRandomReadsReturnCorrectBytes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        long seed = System.nanoTime();
        System.out.println("FuseMountIT seed " + seed);
        Random rnd = new Random(seed);
        byte[] data = new byte[3 * 1024 * 1024 + 123];
        rnd.nextBytes(data);
        Files.write(src.resolve("big"), data);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR)
                .withChunkSize(256 * 1024)).build(src, tmp.resolve("image.boot"), null, blobs);
        NydusDaemon d = serve(r.bootstrap(), blobs, tmp.resolve("cache"));
        Path big = d.mount().mountpoint().resolve("big");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long s = rnd.nextLong();
                fs.add(pool.submit(() -> {
                    Random lr = new Random(s);
                    try (FileChannel ch = FileChannel.open(big, StandardOpenOption.READ)) {
                        for (int i = 0; i < 200; i++) {
                            int off = lr.nextInt(data.length);
                            int len = 1 + lr.nextInt(Math.min(300_000, data.length - off));
                            ByteBuffer b = ByteBuffer.allocate(len);
                            while (b.hasRemaining() && ch.read(b, off + b.position()) > 0) {
                                // fill
                            }
                            assertThat(b.position()).isEqualTo(len);
                            for (int k = 0; k < len; k++) {
                                if (b.get(k) != data[off + k]) {
                                    throw new AssertionError("byte " + (off + k) + " differs");
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(FuseEngine.class)
    void writesAreRefusedAndRemountReadsFromCache(FuseEngine engine) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello nydus4j\n".repeat(1000));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        Path cache = tmp.resolve("cache");
        NydusDaemon d = serve(r.bootstrap(), blobs, cache, engine);
        Path mp = d.mount().mountpoint();
        assertThat(Files.readString(mp.resolve("hello.txt"))).isEqualTo("hello nydus4j\n".repeat(1000));
        // raised once FUSE_INIT was answered (which resets it)
        Path readahead = Path.of("/sys/class/bdi", FuseMount.deviceOf(mp), "read_ahead_kb");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!Files.readString(readahead).strip().equals(Integer.toString(FuseMount.READAHEAD_KB))
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(Files.readString(readahead).strip()).isEqualTo(Integer.toString(FuseMount.READAHEAD_KB));
        assertThatThrownBy(() -> Files.writeString(mp.resolve("new.txt"), "x")).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.delete(mp.resolve("hello.txt"))).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.writeString(mp.resolve("hello.txt"), "x")).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.createDirectory(mp.resolve("dir"))).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.setPosixFilePermissions(mp.resolve("hello.txt"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx")))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        d.close();
        open.remove(d);
        assertThat(FuseMount.isMounted(mp)).isFalse();

        // remount with the blob gone from the backend: everything comes from the blob cache
        for (String id : r.blobIds()) {
            Files.delete(blobs.resolve(id));
        }
        NydusDaemon d2 = serve(r.bootstrap(), blobs, cache, engine);
        assertThat(Files.readString(d2.mount().mountpoint().resolve("hello.txt")))
                .isEqualTo("hello nydus4j\n".repeat(1000));
        assertThat(d2.backendReadCount()).isZero();
    }

    @Test
    void prefetchAllFillsTheCacheInTheBackground() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random rnd = new Random(7);
        for (int i = 0; i < 5; i++) {
            byte[] b = new byte[200_000 + i];
            rnd.nextBytes(b);
            Files.write(src.resolve("f" + i), b);
        }
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR).withChunkSize(64 * 1024))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        NydusDaemon d = serve(r.bootstrap(), blobs, tmp.resolve("cache"),
                ",\"fs_prefetch\":{\"enable\":true,\"threads_count\":2}");
        RafsInstance inst = d.instance("/");
        assertThat(inst.prefetcher()).isNotNull();
        assertThat(inst.prefetcher().awaitQuiescence(60, TimeUnit.SECONDS)).isTrue();
        assertThat(inst.prefetcher().filesRead()).isEqualTo(5);
        assertThat(inst.device().allCached()).isTrue();
        long fetched = d.backendReadCount();
        for (int i = 0; i < 5; i++) {
            assertThat(Files.readAllBytes(d.mount().mountpoint().resolve("f" + i))).isEqualTo(Files.readAllBytes(src.resolve("f" + i)));
        }
        assertThat(d.backendReadCount()).as("reads after prefetch come from the cache").isEqualTo(fetched);
    }

    @Test
    void corruptedChunkIsEioNeverWrongBytesAndTheDaemonKeepsServing() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Random rnd = new Random(11);
        byte[] victim = new byte[300_000];
        rnd.nextBytes(victim);
        Files.write(src.resolve("victim"), victim);
        Files.writeString(src.resolve("healthy.txt"), "still fine\n".repeat(100));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR)
                .withCompressor(dev.nydus4j.storage.CompressionAlgorithm.NONE)).build(src, tmp.resolve("image.boot"),
                null, blobs);
        // flip one byte inside the victim's stored data (uncompressed blob: find it by content)
        Path blob = blobs.resolve(r.blobIds().get(0));
        byte[] bytes = Files.readAllBytes(blob);
        int at = indexOf(bytes, java.util.Arrays.copyOfRange(victim, 1000, 1064));
        assertThat(at).isPositive();
        bytes[at + 10] ^= 0x01;
        Files.write(blob, bytes);
        NydusDaemon d = serve(r.bootstrap(), blobs, tmp.resolve("cache"));
        Path mp = d.mount().mountpoint();
        assertThatThrownBy(() -> Files.readAllBytes(mp.resolve("victim"))).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("Input/output error");
        assertThat(Files.readString(mp.resolve("healthy.txt"))).isEqualTo("still fine\n".repeat(100));
        // the bad chunk was not cached: asking again fails again rather than serving what was fetched
        assertThatThrownBy(() -> Files.readAllBytes(mp.resolve("victim"))).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void staleMountOfAKilledDaemonIsClearedOnRestart() throws Exception {
        TestImage r = TestImage.oneFile(tmp, "a.txt", "alpha\n");
        Path blobs = r.blobs();
        Path mp = Files.createDirectories(tmp.resolve("stale"));
        // a daemon killed with -9 leaves a FUSE mount that answers ENOTCONN; fake one with a process we kill
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), DaemonChild.class.getName(),
                r.bootstrap().toString(), blobs.toString(), mp.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("nydusd.log").toFile()).start();
        NydusDaemon restarted = null;
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!FuseMount.isMounted(mp) && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            assertThat(FuseMount.isMounted(mp)).as("separate nydusd mounted").isTrue();
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL: no unmount
            assertThat(FuseMount.isMounted(mp)).as("stale mount left behind").isTrue();
            restarted = NydusDaemon.start(NydusdConfigParser.parse("{\"device\":{\"backend\":{\"type\":"
                    + "\"localfs\",\"config\":{\"dir\":\"" + blobs + "\"}}},\"mode\":\"direct\"}", "t"),
                    r.bootstrap(), mp, BackendRegistry.discover());
            open.add(restarted);
            assertThat(Files.readString(mp.resolve("a.txt"))).isEqualTo("alpha\n");
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            if (restarted == null && FuseMount.isMounted(mp)) {
                // failed before the restart took the mount over: do not leave the killed daemon's mount behind
                new ProcessBuilder("umount", "-l", mp.toString()).start().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** The acceptance shape: 10 000 entries and a multi-GB sparse file, compared with the real tools. */
    @Test
    void bigTreeAndMultiGigabyteSparseFileEqualTheSourceUnderRealTools() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.Generated g = TreeGenerator.generate(src,
                TreeGenerator.options().chunkSize(64 * 1024).scale(0.3).bigDirectory(10_000));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(src.resolve("sparse.img").toFile(), "rw")) {
            f.setLength(3L << 30);
            f.seek(1L << 30);
            f.write("middle".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            f.seek((3L << 30) - 4);
            f.write("end!".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        NydusDaemon d = serve(r.bootstrap(), blobs, tmp.resolve("cache"));
        Path mp = d.mount().mountpoint();
        String seed = "seed " + g.seed();
        // diff reports every device/fifo/socket pair as "not comparable" even when they match: drop those lines,
        // and compare device numbers with stat below
        assertThat(run("diff", "-r", "--no-dereference", src.toString(), mp.toString()).lines()
                .filter(l -> !l.matches("File .* is a (character special file|block special file|fifo|socket) while"
                        + " file .* is a (character special file|block special file|fifo|socket)"))
                .toList()).as(seed).isEmpty();
        String devices = "find . \\( -type c -o -type b \\) -exec stat -c '%n %t %T' {} + | sort";
        assertThat(run("sh", "-c", "cd " + mp + " && " + devices)).as(seed)
                .isEqualTo(run("sh", "-c", "cd " + src + " && " + devices));
        assertThat(normalizeDirLinks(run("sh", "-c", "cd " + mp + " && find . -printf '%p %y %m %U %G %n %s %T@ %l\\n' | sort")))
                .as(seed).isEqualTo(normalizeDirLinks(run("sh", "-c", "cd " + src
                        + " && find . -printf '%p %y %m %U %G %n %s %T@ %l\\n' | sort")));
        if (Files.exists(Path.of("/usr/bin/getfattr"))) {
            // file by file in name order (getfattr -R would follow each file system's readdir order)
            String xattrs = "find . -print0 | sort -z | xargs -0 getfattr -h -d -m - 2>/dev/null; true";
            assertThat(run("sh", "-c", "cd " + mp + " && " + xattrs)).as(seed)
                    .isEqualTo(run("sh", "-c", "cd " + src + " && " + xattrs)).contains("user.");
        }
        assertThat(run("md5sum", mp.resolve("sparse.img").toString()).split(" ")[0])
                .isEqualTo(run("md5sum", src.resolve("sparse.img").toString()).split(" ")[0]);
        assertThat(run("sh", "-c", "ls " + mp + "/big | wc -l").trim()).isEqualTo("10000");
    }

    /** Directory link counts and sizes are file-system specific (ext4 vs RAFS dirent blocks): keep them out. */
    private static String normalizeDirLinks(String find) {
        return find.replaceAll("(?m)^(\\S+ d \\d+ \\d+ \\d+) \\d+ \\d+", "$1 N S");
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        if (p.exitValue() != 0 && !cmd[0].equals("diff")) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }
}
