package dev.nydus4j.convert;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waits for one of a conversion's background tasks and rethrows its failure as the task threw it. */
final class Await {
    private Await() {
    }

    /**
     * The task's result. An IOException or RuntimeException of the task is rethrown as is, anything else wrapped;
     * an interrupt of the waiting thread becomes an {@link InterruptedIOException} naming {@code what}.
     */
    static <T> T result(Future<T> task, String what) throws IOException {
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for " + what);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(what + " failed", c);
        }
    }
}
