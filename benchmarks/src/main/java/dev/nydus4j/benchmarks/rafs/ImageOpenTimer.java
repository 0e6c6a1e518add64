package dev.nydus4j.benchmarks.rafs;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;

/**
 * Times opening a RAFS image the way nydusd does ({@code Bootstraps.read} then {@code RafsImage.open} of the tree),
 * {@code N} times in one JVM: iteration 0 is the cold open of a fresh JVM (interpreter and JIT at work), later ones
 * are warm. Prints per iteration the wall time of both steps and the main thread's CPU time (less sensitive to the
 * load of a shared machine than wall time, but without the JIT compiler threads). No blob is read: the chunk reader
 * only receives the chunk layout.
 *
 * <p>With {@code --direct} the image is opened as nydusd now does ({@code RafsImage.openDirect}: RAFS v6 headers and
 * chunk table only, inodes decoded on first use) and the root's attributes and entries are read, as the kernel's
 * first requests to a fresh mount do; the inode count printed is then the root's entries.
 *
 * <p>Args: [--direct] bootstrap [iterations (default 10)]
 */
public final class ImageOpenTimer {
    private ImageOpenTimer() {
    }

    public static void main(String[] args) throws IOException {
        boolean direct = args.length > 0 && args[0].equals("--direct");
        if (direct) {
            args = java.util.Arrays.copyOfRange(args, 1, args.length);
        }
        if (args.length < 1) {
            System.err.println("usage: ImageOpenTimer [--direct] BOOTSTRAP [ITERATIONS]");
            System.exit(2);
        }
        Path bootstrap = Path.of(args[0]);
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < iterations; i++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            long t1;
            long inodes;
            if (direct) {
                try (RafsImage image = RafsImage.openDirect(bootstrap, new LayoutOnly())) {
                    t1 = System.nanoTime();
                    image.getattr(image.rootInode());
                    inodes = image.readdir(image.rootInode()).size();
                }
            } else {
                RafsTree tree = Bootstraps.read(bootstrap);
                t1 = System.nanoTime();
                try (RafsImage image = RafsImage.open(tree, Bootstraps.version(bootstrap), new LayoutOnly(), true)) {
                    inodes = image.stats().inodes();
                }
            }
            long t2 = System.nanoTime();
            long c2 = mx.getCurrentThreadCpuTime();
            System.out.printf("iteration %d: %d %s, %s %.1f ms, %s %.1f ms, total %.1f ms,"
                    + " main-thread CPU %.1f ms%n", i, inodes, direct ? "root entries" : "inodes",
                    direct ? "RafsImage.openDirect" : "Bootstraps.read", (t1 - t0) / 1e6,
                    direct ? "root getattr+readdir" : "RafsImage.open", (t2 - t1) / 1e6, (t2 - t0) / 1e6,
                    (c2 - c0) / 1e6);
        }
    }

    /** Takes the chunk layout and refuses reads (this benchmark reads no data). */
    private static final class LayoutOnly implements ChunkReader {
        @Override
        public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
            throw new IOException("ImageOpenTimer reads no chunk data");
        }

        @Override
        public void close() {
        }
    }
}
