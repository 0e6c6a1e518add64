package dev.nydus4j.fuse;

import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;
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
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the kernel engine ({@link KernelSession}) does beyond libfuse2, through a real mount: READDIRPLUS listings,
 * 1 MiB READs, sub-images that appear at once although names (negative ones too) are cached for a day, the xattr
 * size protocol, and the end of the session when the mount is removed from outside. Root only.
 */
class KernelSessionIT {
    @TempDir
    Path tmp;
    private final List<AutoCloseable> open = new ArrayList<>();

    /** The libc xattr calls, to see the raw size protocol (Java's API hides the probe and ERANGE). */
    interface C extends Library {
        long lgetxattr(String path, String name, byte[] value, long size);

        long llistxattr(String path, byte[] list, long size);
    }

    private static final int ERANGE = 34;
    private static final int ENODATA = 61;
    private static final int EOPNOTSUPP = 95;

    @BeforeEach
    void requireRoot() {
        Assumptions.assumeTrue(TreeGenerator.isRoot() && Files.exists(Path.of("/dev/fuse")), "needs root and FUSE");
    }

    @AfterEach
    void cleanup() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private NydusdConfig config(Path blobs, String extra) {
        return config(blobs, extra, true);
    }

    private NydusdConfig config(Path blobs, String extra, boolean enableXattr) {
        return NydusdConfigParser.parse("{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\""
                + blobs + "\"}}},\"mode\":\"direct\",\"enable_xattr\":" + enableXattr + extra + "}", "test");
    }

    private BuildResult build(Path src, String name) throws IOException {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        return new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve(name + ".boot"), null, blobs);
    }

    private NydusDaemon serve(BuildResult image, String extra) throws IOException {
        return serve(image, extra, true);
    }

    private NydusDaemon serve(BuildResult image, String extra, boolean enableXattr) throws IOException {
        Path mp = Files.createDirectories(tmp.resolve("mnt" + open.size()));
        NydusDaemon d = NydusDaemon.start(image == null ? null : new NydusDaemon.StartupImage(
                        config(tmp.resolve("blobs"), extra, enableXattr), image.bootstrap(), "/", null), mp,
                BackendRegistry.discover(), null, null, FuseEngine.KERNEL, 4);
        open.add(d);
        assertThat(d.mount().engine()).isEqualTo("kernel");
        return d;
    }

    private static long[] fopHits(RafsInstance inst) {
        return (long[]) inst.metrics().toJson().get("fop_hits");
    }

    @Test
    void tenThousandEntryDirectoryIsListedWithItsAttributes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/big"));
        Random rnd = new Random(3);
        TreeMap<String, Integer> sizes = new TreeMap<>();
        for (int i = 0; i < 10_000; i++) {
            String name = "entry-" + i + (i % 7 == 0 ? "-with-a-longer-name-" + "x".repeat(i % 50) : "");
            int size = rnd.nextInt(64);
            Files.write(src.resolve(name), new byte[size]);
            sizes.put(name, size);
        }
        NydusDaemon d = serve(build(src.getParent(), "big"), "");
        Path big = d.mount().mountpoint().resolve("big");
        Process ls = new ProcessBuilder("ls", "-l", "--block-size=1", big.toString()).redirectErrorStream(true).start();
        List<String> lines = new String(ls.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(ls.waitFor()).isZero();
        assertThat(lines).hasSize(10_001); // "total" + one per entry
        TreeMap<String, Integer> listed = new TreeMap<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.trim().split("\\s+");
            listed.put(f[f.length - 1], Integer.parseInt(f[4]));
        }
        assertThat(listed).isEqualTo(sizes);
        long[] hits = fopHits(d.instance("/"));
        assertThat(hits[FsMetrics.Op.READDIRPLUS.ordinal()]).as("listed with READDIRPLUS").isPositive();
        // the attributes came with the listing: ls -l's lstat of each entry needed no LOOKUP
        assertThat(hits[FsMetrics.Op.LOOKUP.ordinal()]).isLessThan(100);
        try (Stream<Path> s = Files.list(big)) {
            assertThat(s.count()).isEqualTo(10_000);
        }
    }

    @Test
    void readsAreOneMebibyteRequests() throws Exception {
        byte[] data = TestImage.randomFile(tmp.resolve("src/data.bin"), 8 << 20, 5);
        NydusDaemon d = serve(build(tmp.resolve("src"), "data"), "");
        try (FileChannel ch = FileChannel.open(d.mount().mountpoint().resolve("data.bin"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            for (int off = 0; off < data.length; off += 1 << 20) {
                b.clear();
                while (b.hasRemaining() && ch.read(b, off + b.position()) > 0) {
                    // fill
                }
                assertThat(b.position()).isEqualTo(1 << 20);
                assertThat(Arrays.equals(b.array(), 0, 1 << 20, data, off, off + (1 << 20))).as("at %d", off).isTrue();
            }
        }
        long[] sizes = (long[]) d.instance("/").metrics().toJson().get("block_count_read");
        // the last bucket counts reads of 1 MiB and more: libfuse2 could not send any
        assertThat(sizes[sizes.length - 1]).as("1 MiB READs in %s", Arrays.toString(sizes)).isPositive();
        assertThat(d.instance("/").metrics().dataRead()).isEqualTo(data.length);
    }

    @Test
    void subImagesAppearAndDisappearAtOnceThoughNamesAreCached() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello\n");
        BuildResult image = build(src, "sub");
        NydusDaemon d = serve(null, "");
        Path mp = d.mount().mountpoint();
        NydusdConfig cfg = config(tmp.resolve("blobs"), "");
        // looked up (and answered absent, cached for a day) before the mounts
        assertThat(Files.exists(mp.resolve("app/hello.txt"))).isFalse();
        assertThat(Files.exists(mp.resolve("a"))).isFalse();
        assertThat(Files.exists(mp.resolve("hello.txt"))).isFalse();

        d.mountImage("/app", image.bootstrap(), cfg);
        assertThat(Files.readString(mp.resolve("app/hello.txt"))).isEqualTo("hello\n");
        d.mountImage("/a/b", image.bootstrap(), cfg);
        assertThat(Files.readString(mp.resolve("a/b/hello.txt"))).isEqualTo("hello\n");
        try (Stream<Path> s = Files.list(mp)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("a", "app");
        }
        assertThat(Files.getAttribute(mp.resolve("a/b/hello.txt"), "unix:ino"))
                .isNotEqualTo(Files.getAttribute(mp.resolve("app/hello.txt"), "unix:ino"));

        d.umountImage("/app");
        assertThat(Files.exists(mp.resolve("app"))).isFalse();
        assertThat(Files.exists(mp.resolve("app/hello.txt"))).isFalse();
        d.umountImage("/a/b");
        assertThat(Files.exists(mp.resolve("a"))).isFalse();
        try (Stream<Path> s = Files.list(mp)) {
            assertThat(s.count()).isZero();
        }

        // an image at "/" of a shared daemon replaces the (cached) empty root, and leaves again
        d.mountImage("/", image.bootstrap(), cfg);
        assertThat(Files.readString(mp.resolve("hello.txt"))).isEqualTo("hello\n");
        d.umountImage("/");
        assertThat(Files.exists(mp.resolve("hello.txt"))).isFalse();
    }

    @Test
    void xattrSizeProbeRangeAndMissingNames() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path f = Files.writeString(src.resolve("f.txt"), "x");
        byte[] value = new byte[100];
        new Random(9).nextBytes(value);
        UserDefinedFileAttributeView view = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        view.write("big", ByteBuffer.wrap(value));
        view.write("small", ByteBuffer.wrap(new byte[]{1}));
        NydusDaemon d = serve(build(src, "xattr"), "");
        String path = d.mount().mountpoint().resolve("f.txt").toString();
        C c = Native.load("c", C.class);
        assertThat(c.lgetxattr(path, "user.big", null, 0)).as("size probe").isEqualTo(100);
        assertThat(c.lgetxattr(path, "user.big", new byte[10], 10)).isEqualTo(-1);
        assertThat(Native.getLastError()).isEqualTo(ERANGE);
        byte[] got = new byte[200];
        assertThat(c.lgetxattr(path, "user.big", got, got.length)).isEqualTo(100);
        assertThat(Arrays.copyOf(got, 100)).isEqualTo(value);
        assertThat(c.lgetxattr(path, "user.none", got, got.length)).isEqualTo(-1);
        assertThat(Native.getLastError()).isEqualTo(ENODATA);

        long listLen = c.llistxattr(path, null, 0);
        assertThat(listLen).isEqualTo("user.big\0user.small\0".length());
        assertThat(c.llistxattr(path, new byte[3], 3)).isEqualTo(-1);
        assertThat(Native.getLastError()).isEqualTo(ERANGE);
        byte[] list = new byte[(int) listLen];
        assertThat(c.llistxattr(path, list, list.length)).isEqualTo(listLen);
        assertThat(new String(list, StandardCharsets.UTF_8).split("\0")).containsExactlyInAnyOrder("user.big",
                "user.small");
    }

    /**
     * CONFIG.md §9: xattr requests are answered when the image's superblock flags xattrs or {@code enable_xattr} is
     * set; otherwise ENOSYS, which the kernel reports as EOPNOTSUPP and remembers for the mount (no
     * security.selinux round trip per entry of an {@code ls -l}).
     */
    @Test
    void xattrsAreServedWhenTheImageFlagsThemOrTheConfigForcesThem() throws Exception {
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(plain.resolve("f.txt"), "x");
        Path rich = Files.createDirectories(tmp.resolve("rich"));
        Path rf = Files.writeString(rich.resolve("f.txt"), "x");
        Files.getFileAttributeView(rf, UserDefinedFileAttributeView.class).write("k", ByteBuffer.wrap(new byte[]{7}));
        BuildResult plainImage = build(plain, "plain");
        BuildResult richImage = build(rich, "rich");
        C c = Native.load("c", C.class);
        byte[] got = new byte[16];

        String off = serve(plainImage, "", false).mount().mountpoint().resolve("f.txt").toString();
        assertThat(c.lgetxattr(off, "user.k", got, got.length)).isEqualTo(-1);
        assertThat(Native.getLastError()).as("no flag, not forced").isEqualTo(EOPNOTSUPP);
        assertThat(c.llistxattr(off, got, got.length)).isEqualTo(-1);
        assertThat(Native.getLastError()).isEqualTo(EOPNOTSUPP);

        String forced = serve(plainImage, "", true).mount().mountpoint().resolve("f.txt").toString();
        assertThat(c.lgetxattr(forced, "user.k", got, got.length)).isEqualTo(-1);
        assertThat(Native.getLastError()).as("forced by enable_xattr").isEqualTo(ENODATA);
        assertThat(c.llistxattr(forced, got, got.length)).isZero();

        String flagged = serve(richImage, "", false).mount().mountpoint().resolve("f.txt").toString();
        assertThat(c.lgetxattr(flagged, "user.k", got, got.length)).as("image flags xattrs").isEqualTo(1);
        assertThat(got[0]).isEqualTo((byte) 7);
    }

    /**
     * Node ids are the kernel's, inode numbers the image's: a v5 image (root inode 1) and a v6 image (root nid 128)
     * at "/" and below pseudo directories, read and compared with upstream's md5 list.
     */
    @Test
    void upstreamV5AndV6ImagesAtTheRootAndBelowPseudoDirectories() throws Exception {
        String fixtures = System.getProperty("nydus.fixtures");
        Assumptions.assumeTrue(fixtures != null && Files.isDirectory(Path.of(fixtures, "repeatable")),
                "upstream fixtures (../shared/fixtures/upstream) not found");
        Path repeatable = Path.of(fixtures, "repeatable");
        Path v5 = repeatable.resolve("sha256-nocompress-repeatable");
        Path v6 = Path.of(fixtures, "bootstrap", "rafs-v6-2.2.boot");
        List<String[]> md5s = Files.readAllLines(repeatable.resolve("sha256-nocompress-repeatable.result")).stream()
                .filter(l -> l.matches("[0-9a-f]{32}  /.*")).map(l -> l.split("  ", 2)).toList();
        assertThat(md5s).hasSizeGreaterThan(20);

        NydusDaemon shared = serve(null, "");
        Path mp = shared.mount().mountpoint();
        shared.mountImage("/v5", v5, config(repeatable.resolve("blobs"), ""));
        shared.mountImage("/deep/v6", v6, config(Path.of(fixtures, "blobs"), ""));
        assertMd5s(mp.resolve("v5"), md5s);
        assertThat(Files.size(mp.resolve("deep/v6/lib.rs"))).isEqualTo(16931);
        assertThat(Files.readAllBytes(mp.resolve("deep/v6/sync_io.rs"))).hasSize(13400);
        assertThat(Files.getAttribute(mp.resolve("v5/hardlink-test/foo"), "unix:ino"))
                .isEqualTo(Files.getAttribute(mp.resolve("v5/hardlink-test/test.sh"), "unix:ino"));
        assertThat((Long) Files.getAttribute(mp.resolve("v5"), "unix:ino") & 0xFFFF_FFFF_FFFFL).isEqualTo(1);

        Path mp2 = Files.createDirectories(tmp.resolve("v5-root"));
        NydusDaemon whole = NydusDaemon.start(new NydusDaemon.StartupImage(config(repeatable.resolve("blobs"), ""), v5,
                "/", null), mp2, BackendRegistry.discover(), null, null, FuseEngine.KERNEL, 2);
        open.add(whole);
        assertThat(Files.getAttribute(mp2, "unix:ino")).isEqualTo(1L);
        assertMd5s(mp2, md5s);
    }

    private static void assertMd5s(Path root, List<String[]> md5s) throws Exception {
        for (String[] e : md5s) {
            byte[] d = java.security.MessageDigest.getInstance("MD5").digest(Files.readAllBytes(
                    root.resolve(e[1].substring(1))));
            assertThat(java.util.HexFormat.of().formatHex(d)).as(e[1]).isEqualTo(e[0]);
        }
    }

    /**
     * Modes and ACLs are the kernel's to check (default_permissions, FUSE_POSIX_ACL), as on EROFS: user nobody reads
     * a 0600 root file only where the image's ACL lets it, and the ACL reads back byte for byte.
     */
    @Test
    void permissionsAndAclsAreCheckedByTheKernel() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setfattr"))
                && Files.isExecutable(Path.of("/usr/bin/getfattr")), "needs setfattr/getfattr (Debian package attr)");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path shared = Files.writeString(src.resolve("shared.txt"), "for nobody\n");
        Path secret = Files.writeString(src.resolve("secret.txt"), "root only\n");
        for (Path p : List.of(shared, secret)) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        // posix_acl_xattr v2: user::rw- user:65534:r-- group::--- mask::r-- other::---
        String acl = "0x02000000" + "0100" + "0600" + "ffffffff" + "0200" + "0400" + "feff0000" + "0400" + "0000"
                + "ffffffff" + "1000" + "0400" + "ffffffff" + "2000" + "0000" + "ffffffff";
        assertThat(sh("setfattr -n system.posix_acl_access -v " + acl + " " + shared).exit()).isZero();
        NydusDaemon d = serve(build(src, "acl"), "");
        Path mp = d.mount().mountpoint();
        for (Path p = mp.getParent(); p.startsWith(tmp); p = p.getParent()) { // let nobody reach the mount
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        String hex = "getfattr -e hex -n system.posix_acl_access --only-values ";
        assertThat(sh(hex + mp.resolve("shared.txt")).out()).isEqualTo(sh(hex + shared).out()).isNotEmpty();
        Shell ok = sh("su nobody -s /bin/sh -c 'cat " + mp.resolve("shared.txt") + "'");
        assertThat(ok.exit()).as(ok.out()).isZero();
        assertThat(ok.out()).isEqualTo("for nobody\n");
        Shell denied = sh("su nobody -s /bin/sh -c 'cat " + mp.resolve("secret.txt") + "'");
        assertThat(denied.exit()).isNotZero();
        assertThat(denied.out()).contains("Permission denied");
        assertThat(Files.readString(mp.resolve("secret.txt"))).isEqualTo("root only\n"); // root reads anything
    }

    private record Shell(int exit, String out) {
    }

    private static Shell sh(String cmd) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Shell(p.exitValue(), out);
    }

    @Test
    void closeWithAFileStillOpenDetachesWithoutWaiting() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("held.txt"), "held\n");
        NydusDaemon d = serve(build(src, "busy"), "");
        Path mp = d.mount().mountpoint();
        try (FileChannel ch = FileChannel.open(mp.resolve("held.txt"), StandardOpenOption.READ)) {
            assertThat(ch.read(ByteBuffer.allocate(16))).isEqualTo(5);
            long t0 = System.nanoTime();
            d.close();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("close of a busy mount")
                    .isLessThan(5_000);
            assertThat(FuseMount.isMounted(mp)).isFalse();
        }
    }

    @Test
    void unmountFromOutsideEndsTheDaemonProcess() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "alpha\n");
        BuildResult image = build(src, "ext");
        Path mp = Files.createDirectories(tmp.resolve("ext"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), DaemonChild.class.getName(),
                image.bootstrap().toString(), tmp.resolve("blobs").toString(), mp.toString(), "kernel")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(mp.resolve("a.txt")) && System.nanoTime() < end && p.isAlive()) {
                Thread.sleep(20);
            }
            assertThat(Files.readString(mp.resolve("a.txt"))).isEqualTo("alpha\n");
            Process umount = new ProcessBuilder("umount", mp.toString()).redirectErrorStream(true).start();
            assertThat(umount.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(umount.exitValue()).isZero();
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("daemon exits after the unmount").isTrue();
            assertThat(p.exitValue()).as(Files.readString(log)).isZero();
            assertThat(Files.readString(log)).contains("serving with the kernel engine").contains("mount ended");
            assertThat(FuseMount.isMounted(mp)).isFalse();
        } finally {
            p.destroyForcibly();
            if (FuseMount.isMounted(mp)) {
                new ProcessBuilder("umount", "-l", mp.toString()).start().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
