package dev.nydus4j.storage.device;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The core's bounded executor (handed to backend plugins as {@link dev.nydus4j.spi.BackendContext#executor()}):
 * at most {@code threads} daemon threads, started on demand and ended after 30 s idle, and a queue of at most
 * {@code queueCapacity} tasks. A task submitted while all threads are busy and the queue is full is rejected with a
 * {@link RejectedExecutionException} naming the pool: work never piles up without limit, and a plugin that
 * floods it learns so at once. The owner (the blob device) shuts it down when it closes.
 */
public final class BoundedExecutor extends ThreadPoolExecutor {
    private final String name;

    /**
     * @param name          pool name (threads are {@code name-N})
     * @param threads       maximum threads, at least 1
     * @param queueCapacity maximum queued tasks, at least 1
     */
    public BoundedExecutor(String name, int threads, int queueCapacity) {
        super(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queueCapacity), factory(name));
        this.name = name;
        allowCoreThreadTimeOut(true);
        setRejectedExecutionHandler((r, ex) -> {
            throw new RejectedExecutionException("executor " + name + " is " + (ex.isShutdown() ? "shut down"
                    : "full (" + threads + " threads busy, " + queueCapacity + " tasks queued)"));
        });
    }

    public String name() {
        return name;
    }

    private static ThreadFactory factory(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
