package dev.nydus4j.snapshotter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host's mount table ({@code /proc/self/mountinfo}) and the two operations on it the snapshotter needs:
 * unmounting (through {@code umount}, lazily as a last resort) and deleting a directory tree without ever
 * descending into a mount below it. Stateless.
 */
final class HostMounts {
    private static final Logger LOG = LoggerFactory.getLogger(HostMounts.class);
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private HostMounts() {
    }

    /** Mountpoints at or below {@code dir}, deepest first. */
    static List<Path> mountsUnder(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO)) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                Path mp = Path.of(unescape(f[4]));
                if (mp.startsWith(d)) {
                    out.add(mp);
                }
            }
        }
        out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        return out;
    }

    static boolean isMountpoint(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        return mountsUnder(d).contains(d);
    }

    /** Unmounts everything at or below {@code dir}; falls back to a lazy unmount when busy. */
    static void unmountAll(Path dir) throws IOException {
        for (Path mp : mountsUnder(dir)) {
            if (run("umount", mp.toString()) != 0 && run("umount", "-l", mp.toString()) != 0) {
                throw new IOException("cannot unmount " + mp + "; see the snapshotter log, then umount it by hand");
            }
            LOG.info("unmounted {}", mp);
        }
    }

    /** Deletes directory {@code dir} if it exists and is empty; a non-empty one stays. */
    static void deleteIfEmpty(Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try {
            Files.deleteIfExists(dir);
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            // still in use (e.g. a restarted daemon's socket): keep it
        }
    }

    /** Unmounts what is below {@code dir}, then deletes it; never follows symlinks or crosses mounts. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        unmountAll(dir);
        if (!mountsUnder(dir).isEmpty()) {
            throw new IOException("refusing to delete " + dir + ": mounts remain below it");
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    static int run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 30 s");
            }
            if (p.exitValue() != 0) {
                LOG.debug("{} exited with {}: {}", String.join(" ", command), p.exitValue(), out);
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new java.io.InterruptedIOException("interrupted while running " + command[0]);
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
