package dev.nydus4j.snapshotter;

import dev.nydus4j.fuse.FdSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * The supervisor of one nydusd (upstream's {@code pkg/supervisor}): keeps the state and the /dev/fuse descriptor
 * the daemon saves ({@code PUT /api/v1/daemon/fuse/sendfd}) and hands them to the next daemon, which takes the FUSE
 * session over ({@code --upgrade}, {@code PUT /api/v1/daemon/fuse/takeover}) when the first one died. The socket
 * ({@link Layout#supervisorSocket}) listens only while an exchange is expected: the supervisor listens, then the
 * daemon is asked to connect. Thread-safe (synchronized); holds at most one descriptor, closed by {@link #close}.
 */
final class NydusdSupervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NydusdSupervisor.class);
    /** Largest state accepted (upstream reads 256 KiB at a time, unbounded; ours are a few KiB per image). */
    private static final int MAX_STATE = 16 << 20;
    private static final long EXCHANGE_TIMEOUT_MS = 30_000;

    private final String daemonId;
    private final Path socket;
    private byte[] state;
    private int fd = -1;

    /** A request to a daemon that makes it connect (the sendfd API call). */
    interface Trigger {
        void run() throws IOException;
    }

    NydusdSupervisor(String daemonId, Path socket) {
        this.daemonId = daemonId;
        this.socket = socket;
    }

    Path socket() {
        return socket;
    }

    /** Whether a state and descriptor are kept (a failover is possible). */
    synchronized boolean hasState() {
        return fd >= 0;
    }

    /**
     * Listens, runs {@code trigger} (which makes the daemon connect and send), and keeps what it sent, replacing what
     * was kept before.
     *
     * @throws IOException when the daemon does not send exactly one descriptor in time, or the trigger fails
     */
    synchronized void fetchStates(Trigger trigger) throws IOException {
        try (FdSocket listener = FdSocket.listen(socket)) {
            CompletableFuture<FdSocket.Message> received = CompletableFuture.supplyAsync(() -> {
                try (FdSocket c = listener.accept(EXCHANGE_TIMEOUT_MS)) {
                    return c.receive(MAX_STATE, EXCHANGE_TIMEOUT_MS);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                trigger.run();
            } catch (IOException | RuntimeException e) {
                listener.close(); // the receiver gives up at once
                received.handle((m, x) -> m).thenAccept(m -> closeAll(m));
                throw e;
            }
            FdSocket.Message m = join(received, "receiving the state of nydusd " + daemonId);
            if (m.fds().length != 1) {
                closeAll(m);
                throw new IOException("nydusd " + daemonId + " sent " + m.fds().length + " descriptors to " + socket
                        + ", expected exactly one");
            }
            if (fd >= 0) {
                FdSocket.closeFd(fd);
            }
            fd = m.fds()[0];
            state = m.data();
            LOG.info("supervisor {} keeps the state ({} bytes) and FUSE descriptor of nydusd {}", socket, state.length,
                    daemonId);
        } finally {
            Files.deleteIfExists(socket);
        }
    }

    /**
     * Starts listening and hands the kept state and descriptor to the first daemon that connects (in the background;
     * the returned future completes then). The descriptor stays kept: the next daemon can be failed over too.
     *
     * @throws IllegalStateException when nothing is kept
     */
    synchronized CompletableFuture<Void> sendStates() throws IOException {
        if (fd < 0) {
            throw new IllegalStateException("supervisor of nydusd " + daemonId + " keeps no state to hand over");
        }
        byte[] data = state;
        int passFd = fd;
        FdSocket listener = FdSocket.listen(socket);
        return CompletableFuture.runAsync(() -> {
            try (listener; FdSocket c = listener.accept(EXCHANGE_TIMEOUT_MS)) {
                synchronized (this) {
                    c.send(data, passFd);
                }
                LOG.info("supervisor {} handed the state of nydusd {} over", socket, daemonId);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                try {
                    Files.deleteIfExists(socket);
                } catch (IOException ignored) {
                    // a stale socket file is replaced by the next listen
                }
            }
        });
    }

    private static <T> T join(CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof java.io.UncheckedIOException u) {
                throw new IOException(what + ": " + u.getCause().getMessage(), u.getCause());
            }
            throw new IOException(what + ": " + c, c);
        }
    }

    private static void closeAll(FdSocket.Message m) {
        if (m != null) {
            for (int f : m.fds()) {
                FdSocket.closeFd(f);
            }
        }
    }

    /** Drops what is kept (the daemon is gone for good). */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            FdSocket.closeFd(fd);
            fd = -1;
        }
        state = null;
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // nothing listens there any more
        }
    }
}
