package dev.nydus4j.snapshotter;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/**
 * Disk usage of a snapshot directory, as containerd's {@code fs.DiskUsage}: every inode counted once (hard links
 * share one), sizes summed. Java has no {@code st_blocks}, so this sums apparent sizes rather than allocated blocks.
 * Does not cross into other file systems (a FUSE mount under the directory is skipped).
 */
final class DiskUsage {
    /** Bytes and inodes used. */
    record Usage(long bytes, long inodes) {
        static final Usage ZERO = new Usage(0, 0);
    }

    private DiskUsage() {
    }

    static Usage of(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Usage.ZERO;
        }
        Object rootDev = Files.getAttribute(dir, "unix:dev");
        Set<Object> seen = new HashSet<>();
        long[] total = new long[2];
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                if (!rootDev.equals(Files.getAttribute(d, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                count(attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                count(attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // removed while walking an active snapshot
                }
                throw e;
            }

            private void count(BasicFileAttributes attrs) {
                if (seen.add(attrs.fileKey())) {
                    total[0] += attrs.size();
                    total[1]++;
                }
            }
        });
        return new Usage(total[0], total[1]);
    }
}
