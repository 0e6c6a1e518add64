package dev.nydus4j.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Generates a seeded, reproducible source tree on disk that exercises every feature an image must preserve:
 * file sizes around chunk boundaries, compressible and incompressible data, duplicate content, hard links,
 * symlinks of many lengths (relative, absolute, dangling), xattrs, devices, fifos, a socket, a large directory,
 * deep paths, non-ASCII names, special mode bits, owners and nanosecond mtimes. Privileged parts (devices,
 * trusted.* / security.* xattrs, owners) are created only when running as root. The seed is printed so a
 * failing run can be reproduced with {@link Options#seed(long)}.
 *
 * <p>Not thread-safe; create one per use.
 */
public final class TreeGenerator {
    /** Generation settings; mutable builder style. */
    public static final class Options {
        long seed = System.nanoTime();
        int chunkSize = 0x100000;
        double scale = 1.0;
        boolean bigDirectory = false;
        int bigDirectoryEntries = 10_000;
        boolean privileged = isRoot();
        boolean specialFiles = true;

        public Options seed(long s) {
            this.seed = s;
            return this;
        }

        /** Chunk size the sizes are centred on (default 1 MiB); use small values (e.g. 4096) for fast tests. */
        public Options chunkSize(int c) {
            if (c < 4096 || Integer.bitCount(c) != 1) {
                throw new IllegalArgumentException("chunkSize must be a power of two >= 4096, got " + c);
            }
            this.chunkSize = c;
            return this;
        }

        /** Multiplies the number and size of bulk files (default 1.0). */
        public Options scale(double s) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("scale must be > 0, got " + s);
            }
            this.scale = s;
            return this;
        }

        /** Adds /big with {@code entries} empty files (default off; 10 000 entries is the classic case). */
        public Options bigDirectory(int entries) {
            this.bigDirectory = entries > 0;
            this.bigDirectoryEntries = entries;
            return this;
        }

        /** Whether to create root-only content (devices, trusted/security xattrs, owners); default: am I root. */
        public Options privileged(boolean p) {
            this.privileged = p && isRoot();
            return this;
        }

        /** Whether to create fifos/devices/sockets at all (tar can't hold sockets); default true. */
        public Options specialFiles(boolean s) {
            this.specialFiles = s;
            return this;
        }

        public long seed() {
            return seed;
        }
    }

    /**
     * What was generated.
     *
     * @param root       the directory filled
     * @param seed       the seed used
     * @param privileged whether root-only content was created
     * @param paths      relative paths created, in creation order
     * @param dupGroups  groups of relative paths with identical content (dedup checks)
     */
    public record Generated(Path root, long seed, boolean privileged, List<String> paths, List<List<String>> dupGroups) {
    }

    private final Options opt;
    private final Random rnd;
    private final List<String> paths = new ArrayList<>();
    private final List<List<String>> dupGroups = new ArrayList<>();
    private Path root;

    private TreeGenerator(Options opt) {
        this.opt = opt;
        this.rnd = new Random(opt.seed);
    }

    public static Options options() {
        return new Options();
    }

    /** Fills {@code root} (created if missing; should be empty) with a tree described by {@code opt}. */
    public static Generated generate(Path root, Options opt) throws IOException {
        System.out.println("TreeGenerator seed=" + opt.seed + " (reproduce with TreeGenerator.options().seed("
                + opt.seed + "L)) chunkSize=" + opt.chunkSize + " scale=" + opt.scale + " privileged="
                + opt.privileged);
        TreeGenerator g = new TreeGenerator(opt);
        g.root = root;
        Files.createDirectories(root);
        g.run();
        return new Generated(root, opt.seed, opt.privileged, List.copyOf(g.paths), List.copyOf(g.dupGroups));
    }

    /** Default options with the given seed. */
    public static Generated generate(Path root, long seed) throws IOException {
        return generate(root, options().seed(seed));
    }

    private void run() throws IOException {
        regularFiles();
        duplicates();
        hardLinks();
        symlinks();
        xattrs();
        if (opt.specialFiles) {
            specialFiles();
        }
        deepAndOddNames();
        if (opt.bigDirectory) {
            mkdir("big");
            for (int i = 0; i < opt.bigDirectoryEntries; i++) {
                file(String.format("big/entry-%05d", i), new byte[0]);
            }
        }
        modesAndOwners();
        mtimes();
    }

    private void regularFiles() throws IOException {
        int c = opt.chunkSize;
        mkdir("files");
        file("files/empty", new byte[0]);
        file("files/one-byte", new byte[] {'x'});
        long[] sizes = {4095, 4096, 4097, c - 1, c, c + 1, 2L * c + 123, 3L * c};
        for (long s : sizes) {
            file("files/random-" + s, randomBytes(s));
            file("files/text-" + s, textBytes(s));
        }
        int bulk = (int) Math.max(1, Math.round(8 * opt.scale));
        mkdir("files/bulk");
        for (int i = 0; i < bulk; i++) {
            long s = (long) (rnd.nextDouble() * 2.5 * c * Math.min(opt.scale, 16));
            file("files/bulk/f" + i, rnd.nextBoolean() ? randomBytes(s) : textBytes(s));
        }
    }

    private void duplicates() throws IOException {
        int c = opt.chunkSize;
        mkdir("dup");
        byte[] content = randomBytes(2L * c + 777);
        file("dup/a.bin", content);
        file("dup/b.bin", content);
        mkdir("dup/sub");
        file("dup/sub/c.bin", content);
        dupGroups.add(List.of("dup/a.bin", "dup/b.bin", "dup/sub/c.bin"));
        // shares the first chunk only
        byte[] prefix = content.clone();
        prefix[prefix.length - 1] ^= 0x5a;
        file("dup/prefix-shared.bin", prefix);
        byte[] small = textBytes(100);
        file("dup/small1", small);
        file("dup/small2", small);
        dupGroups.add(List.of("dup/small1", "dup/small2"));
    }

    private void hardLinks() throws IOException {
        mkdir("links");
        mkdir("links/other");
        file("links/orig", textBytes(5000));
        link("links/hl1", "links/orig");
        link("links/other/hl2", "links/orig");
        file("links/empty-orig", new byte[0]);
        link("links/empty-hl", "links/empty-orig");
    }

    private void symlinks() throws IOException {
        mkdir("symlinks");
        int[] lengths = {1, 2, 31, 32, 100, 254, 255, 256, 1000, 2048, 4094, 4095};
        for (int len : lengths) {
            symlink("symlinks/len-" + len, targetOfLength(len));
        }
        symlink("symlinks/relative", "../files/one-byte");
        symlink("symlinks/absolute", "/etc/passwd");
        symlink("symlinks/dangling", "does/not/exist");
        symlink("symlinks/to-dir", "../links");
        symlink("symlinks/self-loop", "self-loop");
    }

    /** A path-like target of exactly {@code len} bytes ("a/bb/ccc..." shaped, never absolute). */
    private String targetOfLength(int len) {
        StringBuilder sb = new StringBuilder(len);
        while (sb.length() < len) {
            if (sb.length() > 0 && sb.length() % 50 == 0) {
                sb.append('/');
            } else {
                sb.append((char) ('a' + rnd.nextInt(26)));
            }
        }
        if (sb.charAt(len - 1) == '/') {
            sb.setCharAt(len - 1, 'z');
        }
        return sb.toString();
    }

    private void xattrs() throws IOException {
        mkdir("xattrs");
        Path f = file("xattrs/user", textBytes(10));
        if (!setUserXattr(f, "user.a", "1".getBytes(StandardCharsets.UTF_8))) {
            System.out.println("TreeGenerator: user xattrs not supported here; skipping them");
            return;
        }
        setUserXattr(f, "user.empty", new byte[0]);
        byte[] bin = new byte[200];
        rnd.nextBytes(bin);
        setUserXattr(f, "user.binary", bin);
        // ext4 keeps all xattrs of an inode in one 4 KiB block: stay well below
        setUserXattr(f, "user.long-value", textBytes(1500));
        Path d = root.resolve("xattrs");
        setUserXattr(d, "user.on-dir", "dir".getBytes(StandardCharsets.UTF_8));
        if (opt.privileged) {
            LinuxXattrs.set(f, "trusted.t", "trusted-value".getBytes(StandardCharsets.UTF_8));
            LinuxXattrs.set(f, "security.s", "sec".getBytes(StandardCharsets.UTF_8));
            Path s = symlink("xattrs/link-with-xattr", "user");
            LinuxXattrs.set(s, "trusted.on-symlink", "y".getBytes(StandardCharsets.UTF_8));
        }
        Path many = file("xattrs/many", new byte[0]);
        for (int i = 0; i < 20; i++) {
            setUserXattr(many, "user.k" + i, ("v" + i).getBytes(StandardCharsets.UTF_8));
        }
    }

    private boolean setUserXattr(Path p, String name, byte[] value) throws IOException {
        UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
        try {
            v.write(name.substring("user.".length()), ByteBuffer.wrap(value));
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private void specialFiles() throws IOException {
        mkdir("special");
        run("mkfifo", root.resolve("special/fifo").toString());
        paths.add("special/fifo");
        Path sock = root.resolve("special/socket");
        // sun_path holds 108 bytes: bind via a short relative path is not possible in Java, so skip when too long
        if (sock.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8).length < 100) {
            try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.bind(UnixDomainSocketAddress.of(sock));
            }
            paths.add("special/socket");
        } else {
            System.out.println("TreeGenerator: path too long for a unix socket, skipping " + sock);
        }
        if (opt.privileged) {
            mknod("special/null", 'c', 1, 3);
            mknod("special/tty-like", 'c', 4, 64);
            mknod("special/big-minor", 'c', 240, 300);
            mknod("special/blk", 'b', 7, 0);
            mknod("special/blk-big", 'b', 259, 70000);
        }
    }

    private void deepAndOddNames() throws IOException {
        StringBuilder p = new StringBuilder("deep");
        mkdir(p.toString());
        for (int i = 0; i < 40; i++) {
            p.append("/d").append(i);
            mkdir(p.toString());
        }
        file(p + "/leaf", textBytes(10));
        mkdir("names");
        file("names/" + "n".repeat(255), textBytes(3));
        file("names/with space", textBytes(3));
        file("names/-dash", textBytes(3));
        file("names/.hidden", textBytes(3));
        file("names/UPPER", textBytes(3));
        file("names/upper", textBytes(3));
        String enc = System.getProperty("sun.jnu.encoding", "");
        if (enc.equalsIgnoreCase("UTF-8")) {
            file("names/caf\u00e9", textBytes(3));
            file("names/\u65e5\u672c\u8a9e", textBytes(3));
            mkdir("names/\u00fcml\u00e4ut-dir");
            file("names/\u00fcml\u00e4ut-dir/\uD83D\uDE00", textBytes(3));
        } else {
            System.out.println("TreeGenerator: file name encoding is " + enc + ", not UTF-8: no non-ASCII names");
        }
    }

    private void modesAndOwners() throws IOException {
        mkdir("modes");
        chmod(file("modes/setuid", textBytes(5)), 04755);
        chmod(file("modes/setgid", textBytes(5)), 02711);
        chmod(file("modes/readonly", textBytes(5)), 0444);
        chmod(file("modes/exec", textBytes(5)), 0700);
        chmod(mkdir("modes/sticky"), 01777);
        chmod(mkdir("modes/setgid-dir"), 02775);
        chmod(mkdir("modes/private-dir"), 0700);
        if (opt.privileged) {
            chown(file("modes/owned-1000", textBytes(5)), 1000, 1000);
            chown(file("modes/owned-big", textBytes(5)), 123456, 654321);
            chown(mkdir("modes/owned-dir"), 65534, 65534);
            chown(root.resolve("symlinks/relative"), 42, 43);
            Path s = file("modes/setuid-owned", textBytes(5));
            chown(s, 1000, 100);
            chmod(s, 06755); // after chown: chown clears set-id bits
        }
    }

    /** Deterministic mtimes with nanoseconds, children before parents so directory times stick. */
    private void mtimes() throws IOException {
        List<Path> all = new ArrayList<>();
        try (var s = Files.walk(root)) {
            s.forEach(all::add);
        }
        all.sort(Comparator.comparingInt(Path::getNameCount).reversed().thenComparing(Path::toString));
        long base = 1_600_000_000L;
        for (Path p : all) {
            long sec = base + rnd.nextInt(100_000_000);
            int nsec = rnd.nextInt(1_000_000_000);
            String stamp = "@" + sec + "." + String.format("%09d", nsec);
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.setLastModifiedTime(p, FileTime.from(Instant.ofEpochSecond(sec, nsec)));
                FileTime got = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                if (got.to(TimeUnit.NANOSECONDS) != sec * 1_000_000_000L + nsec) {
                    run("touch", "-h", "-d", stamp, p.toString());
                }
            } else {
                // symlinks, fifos, devices, sockets: Java would follow or open them (a fifo open blocks);
                // touch -h uses utimensat(AT_SYMLINK_NOFOLLOW) with nanoseconds
                run("touch", "-h", "-d", stamp, p.toString());
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private Path mkdir(String rel) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p);
        paths.add(rel);
        return p;
    }

    private Path file(String rel, byte[] content) throws IOException {
        Path p = root.resolve(rel);
        try (OutputStream out = Files.newOutputStream(p)) {
            out.write(content);
        }
        paths.add(rel);
        return p;
    }

    private Path link(String rel, String existing) throws IOException {
        Path p = Files.createLink(root.resolve(rel), root.resolve(existing));
        paths.add(rel);
        return p;
    }

    private Path symlink(String rel, String target) throws IOException {
        Path p = Files.createSymbolicLink(root.resolve(rel), Path.of(target));
        paths.add(rel);
        return p;
    }

    private void mknod(String rel, char kind, int major, int minor) throws IOException {
        run("mknod", root.resolve(rel).toString(), String.valueOf(kind), String.valueOf(major),
                String.valueOf(minor));
        paths.add(rel);
    }

    private static void chmod(Path p, int mode) throws IOException {
        Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
    }

    private static void chown(Path p, int uid, int gid) throws IOException {
        Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
    }

    private byte[] randomBytes(long size) {
        byte[] b = new byte[Math.toIntExact(size)];
        rnd.nextBytes(b);
        return b;
    }

    /** Compressible: words from a small vocabulary. */
    private byte[] textBytes(long size) {
        String[] words = {"nydus ", "rafs ", "chunk ", "blob ", "erofs ", "lazy ", "image ", "layer\n"};
        byte[] b = new byte[Math.toIntExact(size)];
        int i = 0;
        while (i < b.length) {
            byte[] w = words[rnd.nextInt(words.length)].getBytes(StandardCharsets.US_ASCII);
            int n = Math.min(w.length, b.length - i);
            System.arraycopy(w, 0, b, i, n);
            i += n;
        }
        return b;
    }

    private static void run(String... cmd) throws IOException {
        Process pr = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = pr.waitFor();
            if (rc != 0) {
                throw new IOException(String.join(" ", cmd) + " failed with exit " + rc + ": " + out.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd[0], e);
        }
    }

    /** Whether this JVM runs as uid 0 (owner of /proc/self). */
    public static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
