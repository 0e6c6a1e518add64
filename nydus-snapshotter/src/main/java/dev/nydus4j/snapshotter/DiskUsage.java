package dev.nydus4j.snapshotter;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Disk usage of a snapshot directory, as containerd's {@code fs.DiskUsage} (what its overlayfs snapshotter and
 * upstream's nydus snapshotter report): every inode counted once (hard links share one), and its allocated blocks
 * ({@code st_blocks * 512}, from {@code lstat(2)} through JNA) summed, so a 50,000-byte file counts 53,248 bytes
 * and a directory 4 KiB, as {@code du -B1} says. Where {@code lstat} cannot be called (no glibc 2.33+ symbol, an
 * architecture whose {@code struct stat} is not known here) apparent sizes are summed instead. Does not cross into
 * other file systems (a FUSE mount under the directory is skipped).
 */
final class DiskUsage {
    private static final Logger LOG = LoggerFactory.getLogger(DiskUsage.class);
    /** {@code st_blocks} is at byte 64 of {@code struct stat} on x86_64 and on aarch64 (the generic layout). */
    private static final int ST_BLOCKS_OFFSET = 64;
    private static final int STAT_BUFFER = 256; // larger than struct stat (144 / 128 bytes)

    /** Bytes and inodes used. */
    record Usage(long bytes, long inodes) {
        static final Usage ZERO = new Usage(0, 0);

        Usage plus(Usage o) {
            return new Usage(bytes + o.bytes, inodes + o.inodes);
        }
    }

    interface LibC extends Library {
        int lstat(byte[] path, byte[] buf) throws LastErrorException;
    }

    private static final LibC LIBC = load();

    private DiskUsage() {
    }

    private static LibC load() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!System.getProperty("os.name", "").equals("Linux")
                || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
            return null;
        }
        try {
            LibC c = Native.load("c", LibC.class);
            c.lstat("/\0".getBytes(StandardCharsets.UTF_8), new byte[STAT_BUFFER]);
            return c;
        } catch (Throwable t) { // UnsatisfiedLinkError (glibc < 2.33 has no lstat symbol), NoClassDefFoundError
            LOG.warn("lstat unavailable ({}); disk usage sums apparent file sizes", t.toString());
            return null;
        }
    }

    /** Whether sizes are allocated blocks (true) or apparent sizes (false: no usable lstat). */
    static boolean countsBlocks() {
        return LIBC != null;
    }

    static Usage of(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Usage.ZERO;
        }
        Object rootDev = Files.getAttribute(dir, "unix:dev");
        Set<Object> seen = new HashSet<>();
        long[] total = new long[2];
        byte[] buf = LIBC == null ? null : new byte[STAT_BUFFER];
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                if (!rootDev.equals(Files.getAttribute(d, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                count(d, attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                count(f, attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // removed while walking an active snapshot
                }
                throw e;
            }

            private void count(Path p, BasicFileAttributes attrs) throws IOException {
                if (seen.add(attrs.fileKey())) {
                    total[0] += buf == null ? attrs.size() : allocated(p, attrs.size(), buf);
                    total[1]++;
                }
            }
        });
        return new Usage(total[0], total[1]);
    }

    /** Bytes of files (regular files only: not following symlinks) whose names start with {@code prefix}. */
    static Usage ofFilesStartingWith(Path dir, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Usage.ZERO;
        }
        Usage u = Usage.ZERO;
        byte[] buf = LIBC == null ? null : new byte[STAT_BUFFER];
        try (var files = Files.newDirectoryStream(dir, f -> f.getFileName().toString().startsWith(prefix))) {
            for (Path f : files) {
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(f, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                } catch (NoSuchFileException e) {
                    continue;
                }
                if (a.isRegularFile()) {
                    u = u.plus(new Usage(buf == null ? a.size() : allocated(f, a.size(), buf), 1));
                }
            }
        }
        return u;
    }

    /**
     * {@code st_blocks * 512} of {@code p}; its apparent size when lstat cannot find it by the name Java gives
     * (removed while walking, or a name the JVM's file name encoding cannot represent, e.g. non-UTF-8 bytes).
     */
    private static long allocated(Path p, long apparentSize, byte[] buf) throws IOException {
        byte[] path = (p.toString() + "\0").getBytes(System.getProperty("sun.jnu.encoding") == null
                ? StandardCharsets.UTF_8 : java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding")));
        try {
            LIBC.lstat(path, buf);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == 2 || e.getErrorCode() == 20) { // ENOENT, ENOTDIR
                return apparentSize;
            }
            throw new IOException("lstat " + p + ": errno " + e.getErrorCode());
        }
        return ByteBuffer.wrap(buf, ST_BLOCKS_OFFSET, 8).order(ByteOrder.nativeOrder()).getLong() * 512;
    }
}
