package dev.nydus4j.fuse;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.api.config.PrefetchConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Background prefetch of an image (CONFIG.md 8): reads the listed files (directories mean everything below, "/"
 * means the whole image) through the image, which fills the blob cache. Runs on its own small pool of daemon
 * threads with an optional bandwidth limit; foreground reads are never blocked by it (a chunk being prefetched is
 * fetched once, the foreground read waits for that fetch instead of starting another). Closing stops it.
 */
public final class Prefetcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Prefetcher.class);

    private final ExecutorService pool;
    private final AtomicLong bytes = new AtomicLong();
    /** Bytes of the files taken up (upstream's prefetch_data_amount counts a request when it is handled). */
    private final AtomicLong requested = new AtomicLong();
    /** Released when the first file with data is taken up, or when there is none to read. */
    private final java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    /** Regular files queued by the walk, and the empty ones taken up so far (see {@link #awaitStarted}). */
    private volatile int queuedFiles = -1;
    private final AtomicInteger takenFiles = new AtomicInteger();
    private final AtomicInteger files = new AtomicInteger();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong chunks = new AtomicLong();
    private final AtomicLong requestNanos = new AtomicLong();
    private final long bandwidthLimit;
    private final int threads;
    private final int chunkSize;
    private final long startNanos = System.nanoTime();
    private final long beginMillis = System.currentTimeMillis();
    private volatile long endMillis;
    private volatile boolean stopped;

    private Prefetcher(int threads, long bandwidthLimit, int chunkSize) {
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "prefetch-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
        this.bandwidthLimit = bandwidthLimit;
        this.threads = threads;
        this.chunkSize = chunkSize;
    }

    /**
     * Starts prefetching {@code paths} of {@code fs}.
     *
     * @param paths absolute paths, "/" meaning everything; {@code cfg.prefetchAll()} appends "/"
     */
    public static Prefetcher start(RafsFileSystem fs, List<String> paths, PrefetchConfig cfg, String what) {
        return start(fs, 0, paths, cfg, what);
    }

    /**
     * As {@link #start(RafsFileSystem, List, PrefetchConfig, String)}, knowing the image's chunk size (for the
     * unmerged-chunk count of the metrics; 0 leaves it at 0).
     */
    public static Prefetcher start(RafsFileSystem fs, int chunkSize, List<String> paths, PrefetchConfig cfg,
                                   String what) {
        Prefetcher p = new Prefetcher(Math.max(1, Math.min(cfg.threads(), 64)),
                effectiveBandwidthLimit(cfg.bandwidthLimit()), chunkSize);
        List<String> roots = new ArrayList<>(paths);
        if (cfg.prefetchAll() && !roots.contains("/")) {
            roots.add("/"); // listed files first, then everything else
        }
        p.pool.execute(() -> p.run(fs, roots, what));
        return p;
    }

    /** Upstream raises a prefetch bandwidth limit to at least this (its largest chunk, 16 MiB, per second). */
    static final long MIN_BANDWIDTH_LIMIT = 16L << 20;

    /**
     * The limit actually applied for a configured {@code bandwidth_rate}/{@code bandwidth_limit} (bytes/s): 0 means
     * unlimited; a positive limit below {@link #MIN_BANDWIDTH_LIMIT} is raised to it, as upstream's token bucket
     * does (CONFIG.md 8), so a small value does not make the prefetch far slower than upstream's.
     */
    static long effectiveBandwidthLimit(long configured) {
        return configured <= 0 ? 0 : Math.max(configured, MIN_BANDWIDTH_LIMIT);
    }

    private void run(RafsFileSystem fs, List<String> roots, String what) {
        try {
            Set<Long> seen = new LinkedHashSet<>();
            Deque<Long> dirs = new ArrayDeque<>();
            List<Long> regular = new ArrayList<>();
            for (String path : roots) {
                Optional<InodeAttributes> a = fs.resolve(path);
                if (a.isEmpty()) {
                    LOG.warn("prefetch of {}: {} does not exist in the image", what, path);
                    continue;
                }
                if (a.get().isDirectory()) {
                    dirs.add(a.get().ino());
                } else if (a.get().isRegular() && seen.add(a.get().ino())) {
                    regular.add(a.get().ino());
                }
            }
            while (!dirs.isEmpty() && !stopped) {
                long dir = dirs.poll();
                for (DirEntry e : fs.readdir(dir)) {
                    if (e.name().equals(".") || e.name().equals("..") || !seen.add(e.ino())) {
                        continue;
                    }
                    switch (e.type()) {
                        case DIRECTORY -> dirs.add(e.ino());
                        case REGULAR -> regular.add(e.ino());
                        default -> {
                        }
                    }
                }
            }
            queuedFiles = regular.size();
            for (long ino : regular) {
                pool.execute(() -> readAll(fs, ino));
            }
            if (regular.isEmpty()) {
                endMillis = System.currentTimeMillis();
                started.countDown();
            }
            LOG.info("prefetch of {}: {} files queued", what, regular.size());
        } catch (IOException | RuntimeException e) {
            started.countDown();
            LOG.warn("prefetch of {} stopped: {}", what, e.getMessage());
        }
    }

    private void readAll(RafsFileSystem fs, long ino) {
        if (stopped) {
            return;
        }
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long off = 0;
        try {
            long size = fs.getattr(ino).size();
            requested.addAndGet(size);
            // an empty file adds nothing to the amount: the first file with data releases, or the last of only empty ones
            if (size > 0 || takenFiles.incrementAndGet() == queuedFiles) {
                started.countDown();
            }
            if (chunkSize > 0) {
                chunks.addAndGet((size + chunkSize - 1) / chunkSize);
            }
            while (!stopped) {
                buf.clear();
                long t0 = System.nanoTime();
                int n = fs.read(ino, off, buf);
                requestNanos.addAndGet(System.nanoTime() - t0);
                if (n <= 0) {
                    break;
                }
                requests.incrementAndGet();
                off += n;
                throttle(bytes.addAndGet(n));
            }
            files.incrementAndGet();
            endMillis = System.currentTimeMillis();
        } catch (IOException | RuntimeException e) {
            started.countDown();
            LOG.debug("prefetch of inode {} failed: {}", ino, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void throttle(long total) throws InterruptedException {
        if (bandwidthLimit <= 0) {
            return;
        }
        long dueNanos = (long) (total * 1e9 / bandwidthLimit);
        long ahead = dueNanos - (System.nanoTime() - startNanos);
        if (ahead > 0) {
            TimeUnit.NANOSECONDS.sleep(ahead);
        }
    }

    /** Bytes read so far. */
    public long bytesRead() {
        return bytes.get();
    }

    /**
     * Bytes of the files taken up so far, read or being read: upstream's {@code prefetch_data_amount}, which counts
     * a prefetch request when a worker takes it, before its data arrives.
     */
    public long bytesRequested() {
        return requested.get();
    }

    /**
     * Waits until the first file has been taken up (so {@link #bytesRequested()} is non-zero for an image with
     * data to prefetch) or the walk found nothing; a mount over the API returns after this, as upstream's has its
     * prefetch requests queued by then.
     */
    public boolean awaitStarted(long timeout, TimeUnit unit) throws InterruptedException {
        return started.await(timeout, unit);
    }

    /** Read requests (of up to 1 MiB) issued so far. */
    public long requests() {
        return requests.get();
    }

    /** Chunks of the files taken up so far (before reads merge them into requests). */
    public long chunks() {
        return chunks.get();
    }

    /** Total time spent in the read requests, in milliseconds. */
    public long requestMillis() {
        return TimeUnit.NANOSECONDS.toMillis(requestNanos.get());
    }

    /** Worker threads. */
    public int workers() {
        return threads;
    }

    /** When prefetching began (epoch milliseconds). */
    public long beginMillis() {
        return beginMillis;
    }

    /** When the last file finished (epoch milliseconds), 0 before the first one. */
    public long endMillis() {
        return endMillis;
    }

    /** Files read completely so far. */
    public int filesRead() {
        return files.get();
    }

    /** Waits until everything queued is done (for tests and tools). */
    public boolean awaitQuiescence(long timeout, TimeUnit unit) throws InterruptedException {
        long end = System.nanoTime() + unit.toNanos(timeout);
        while (System.nanoTime() < end) {
            if (((java.util.concurrent.ThreadPoolExecutor) pool).getActiveCount() == 0
                    && ((java.util.concurrent.ThreadPoolExecutor) pool).getQueue().isEmpty()) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    @Override
    public void close() {
        stopped = true;
        started.countDown();
        pool.shutdownNow();
    }
}
