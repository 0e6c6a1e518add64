package dev.nydus4j.rafs.builder;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that digest and compress chunks for several builds running at the same time (nydusify converts layers in
 * parallel), given to each with {@link ImageBuilder#hashPool}. While at least as many builds run as the pool has
 * threads, every core already has a build reading its source, so each build digests and compresses its chunks on
 * its own thread (a chunk just inflated is still in that core's cache; handing it to another thread costs a copy
 * through memory). Once fewer builds are left, their chunks go to the pool, so that the cores of builds that ended
 * keep working on the ones still running: a big layer does not finish on one core. Thread-safe.
 */
public final class HashPool implements AutoCloseable {
    private final ExecutorService executor;
    private final int threads;
    private final AtomicInteger builds = new AtomicInteger();

    /** @param name prefix of the thread names ({@code <name>-hash-<n>}) */
    public HashPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("a hash pool needs >= 1 thread, got " + threads);
        }
        this.threads = threads;
        this.executor = newExecutor(threads, name);
    }

    /** {@code threads} daemon threads named {@code <name>-hash-<n>}, started on demand. */
    static ExecutorService newExecutor(int threads, String name) {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-hash-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    int threads() {
        return threads;
    }

    ExecutorService executor() {
        return executor;
    }

    /** A build using the pool starts; pair with {@link #leave()}. */
    void enter() {
        builds.incrementAndGet();
    }

    void leave() {
        builds.decrementAndGet();
    }

    /** Whether a build should hand its next chunk to the pool: fewer builds run than the pool has threads. */
    boolean hasSpareThreads() {
        return builds.get() < threads;
    }

    /** Builds currently using the pool. */
    public int activeBuilds() {
        return builds.get();
    }

    /** Stops the threads (queued work of builds still running is dropped). */
    @Override
    public void close() {
        executor.shutdownNow();
    }
}
