package dev.nydus4j.fuse;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One FUSE mount of a daemon, served by either engine ({@link FuseEngine}): the kernel session
 * ({@link KernelSession}) or libfuse2's blocking main loop in its own thread (the non-blocking jnr-fuse call costs a
 * fixed 2 s). Clears a stale mount left by a killed daemon first, returns once the mount is usable, and unmounts on
 * {@link #close()} (idempotent).
 */
public final class FuseMount implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FuseMount.class);
    private static final long MOUNT_TIMEOUT_MS = 15_000;

    /** What the engines do for a mount. */
    interface Session {
        /** {@code kernel} or {@code libfuse}. */
        String engine();

        boolean isAlive();

        void await() throws InterruptedException;

        /** Waits up to {@code millis} for the end; true when it ended. */
        boolean awaitEnd(long millis) throws InterruptedException;

        void unmount(boolean lazy) throws IOException;

        /** After an image was mounted or unmounted at {@code virtualMountpoint}: drop what the kernel cached. */
        default void invalidate(String virtualMountpoint, List<String> rootNames) {
        }

        /**
         * Whether the last unmount found the mount busy and detached it: the session then lasts until the last open
         * file is closed, and nobody should wait for it.
         */
        default boolean detachedBusy() {
            return false;
        }

        /** Releases what is left once the session ended. */
        default void release() {
        }
    }

    private final Path mountpoint;
    private final Session session;
    private volatile boolean closed;

    private FuseMount(Path mountpoint, Session session) {
        this.mountpoint = mountpoint;
        this.session = session;
    }

    /**
     * Mounts {@code ops} read-only at {@code mountpoint} and returns once the mount is usable.
     *
     * @param engine          the engine to try first; a kernel session that cannot mount falls back to libfuse
     * @param threads         worker threads of the kernel engine (libfuse2 sizes its own pool)
     * @param libfuseOptions  more {@code -o} options for libfuse (cache timeouts)
     */
    static FuseMount mount(FsOps ops, Path mountpoint, FuseEngine engine, int threads, List<String> libfuseOptions)
            throws IOException {
        Path mp = mountpoint.toAbsolutePath().normalize();
        clearStale(mp);
        if (!Files.isDirectory(mp)) {
            throw new IOException("mountpoint " + mp + " is not a directory");
        }
        if (isMounted(mp)) {
            throw new IOException("mountpoint " + mp + " already has a file system mounted");
        }
        long start = System.nanoTime();
        if (engine == FuseEngine.KERNEL) {
            try {
                // FUSE_INIT's answer sets the readahead (to 128 KiB at most): raise it once that is written
                KernelSession s = KernelSession.mount(ops, mp, threads, () -> raiseReadahead(mp));
                LOG.info("mounted RAFS at {} in {} ms (FUSE engine kernel, {} threads)", mp,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), threads);
                return new FuseMount(mp, s);
            } catch (IOException | LinkageError e) { // LinkageError: JNA or libc unavailable
                LOG.warn("the kernel FUSE engine cannot mount {} ({}): falling back to libfuse", mp, e.getMessage());
                LOG.debug("kernel FUSE engine failure", e);
                start = System.nanoTime();
            }
        }
        Session s = mountLibfuse(ops, mp, libfuseOptions);
        LOG.info("mounted RAFS at {} in {} ms (FUSE engine libfuse)", mp,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        return new FuseMount(mp, s);
    }

    /**
     * Serves the existing mount at {@code mountpoint} through a /dev/fuse descriptor taken over from another daemon
     * (kernel engine only; see {@link KernelSession#resume}).
     */
    static FuseMount resume(FsOps ops, Path mountpoint, int fd, int threads, FuseInit.Negotiated negotiated,
                            List<String> rootNegatives, boolean resend) {
        KernelSession s = KernelSession.resume(ops, fd, mountpoint, threads, negotiated, rootNegatives, resend);
        LOG.info("serving the taken-over FUSE session at {} (FUSE engine kernel, {} threads)", mountpoint, threads);
        return new FuseMount(mountpoint, s);
    }

    /** The kernel session, or null for the libfuse engine (whose descriptor libfuse keeps to itself). */
    KernelSession kernelSession() {
        return session instanceof KernelSession k ? k : null;
    }

    private static Session mountLibfuse(FsOps ops, Path mp, List<String> extraOptions) throws IOException {
        RafsFuse fs = new RafsFuse(ops);
        // fsname "rafs" and no subtype: type "fuse", as upstream's nydusd mounts (see KernelSession)
        List<String> opts = new ArrayList<>(List.of("ro", "use_ino", "fsname=rafs",
                "entry_timeout=86400", "attr_timeout=86400", "negative_timeout=86400", "allow_other"));
        opts.addAll(extraOptions);
        String[] args = {"-o", String.join(",", opts)};
        // the kernel sets the readahead when libfuse answers FUSE_INIT, after the mount is listed; it sends no other
        // request before that answer, so the first one is where it can be raised for good (a request from this
        // process to its own mount could deadlock a kill)
        ops.onFirstRequest(() -> raiseReadahead(mp));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                fs.mount(mp, true, false, args);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "fuse-main " + mp);
        t.setDaemon(true);
        long start = System.nanoTime();
        t.start();
        while (!isMounted(mp)) {
            if (!t.isAlive()) {
                Throwable f = failure.get();
                throw new IOException("FUSE mount at " + mp + " failed" + (f == null ? " (libfuse returned; see its"
                        + " message on stderr; is /dev/fuse present and are you root?)" : ": " + f.getMessage()), f);
            }
            if (System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(MOUNT_TIMEOUT_MS)) {
                throw new IOException("FUSE mount at " + mp + " did not appear within " + MOUNT_TIMEOUT_MS + " ms");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while mounting " + mp, e);
            }
        }
        return new LibfuseSession(mp, t);
    }

    /** libfuse2's main loop in its thread; unmounting (fusermount) makes it return. */
    private record LibfuseSession(Path mountpoint, Thread loop) implements Session {
        @Override
        public String engine() {
            return "libfuse";
        }

        @Override
        public boolean isAlive() {
            return loop.isAlive();
        }

        @Override
        public void await() throws InterruptedException {
            loop.join();
        }

        @Override
        public boolean awaitEnd(long millis) throws InterruptedException {
            loop.join(millis);
            return !loop.isAlive();
        }

        @Override
        public void unmount(boolean lazy) throws IOException {
            FuseMount.unmount(mountpoint, lazy);
        }
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** The engine serving the mount: {@code kernel} or {@code libfuse}. */
    public String engine() {
        return session.engine();
    }

    /** Whether the FUSE session is still serving. */
    public boolean isAlive() {
        return session.isAlive();
    }

    /** Blocks until the mount ends (unmounted from outside or by {@link #close()}). */
    public void await() throws InterruptedException {
        session.await();
    }

    /** After an image was mounted or unmounted at {@code virtualMountpoint}: the kernel forgets its cached view. */
    void invalidate(String virtualMountpoint, List<String> rootNames) {
        session.invalidate(virtualMountpoint, rootNames);
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (isMounted(mountpoint)) {
            session.unmount(false);
        }
        try {
            session.awaitEnd(session.detachedBusy() ? 200 : 10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (isMounted(mountpoint)) {
            session.unmount(true);
        }
        session.release();
        LOG.info("unmounted {}", mountpoint);
    }

    /** Kernel readahead of the mount in KiB: one window keeps several 128 KiB FUSE reads in flight. */
    static final int READAHEAD_KB = 1024;

    /**
     * Sets the readahead of the mount's backing device info ({@code /sys/class/bdi/<major:minor>/read_ahead_kb}) to
     * {@link #READAHEAD_KB}. libfuse2 cannot ask for FUSE requests above 128 KiB (32 pages), and the kernel sizes the
     * FUSE readahead window to that by default, so a sequential reader waits for one 128 KiB round trip at a time;
     * a 1 MiB window lets the kernel send the next requests while the FUSE threads serve the first (sequential reads
     * with 1 MiB buffers went from a median of 746 to 988 MiB/s on this 2-vCPU machine under load, 8 runs each).
     * The kernel engine's READs are 1 MiB already, but the kernel still caps the window at 128 KiB: there 1 MiB
     * made each request a full 1 MiB (1.6–2.0 GB/s at 270–390 ms daemon CPU per GiB with 128 KiB, 2.0–2.1 GB/s at
     * 200–250 ms with 1 MiB; 4 MiB was no better; load 6.5–7.2, 4 runs each).
     * Needs root; without it the kernel default stays (logged at debug).
     */
    static void raiseReadahead(Path mp) {
        try {
            String dev = deviceOf(mp);
            if (dev == null) {
                return;
            }
            Path ra = Path.of("/sys/class/bdi", dev, "read_ahead_kb");
            Files.writeString(ra, Integer.toString(READAHEAD_KB));
            LOG.debug("readahead of {} ({}) set to {} KiB", mp, ra, READAHEAD_KB);
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot raise the readahead of {}: {}", mp, e.toString());
        }
    }

    /** The {@code major:minor} of the mount at {@code mp} (mountinfo field 3), or null. */
    static String deviceOf(Path mp) throws IOException {
        String target = mp.toAbsolutePath().normalize().toString();
        String dev = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 4 && unescape(f[4]).equals(target)) {
                dev = f[2]; // the last one listed is the one on top
            }
        }
        return dev;
    }

    /** Whether the kernel lists a mount at {@code mp} (in /proc/self/mountinfo). */
    public static boolean isMounted(Path mp) throws IOException {
        String target = mp.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 4 && unescape(f[4]).equals(target)) {
                return true;
            }
        }
        return false;
    }

    /** A mount whose daemon died answers ENOTCONN: unmount it so a new daemon can mount there. */
    static void clearStale(Path mp) throws IOException {
        if (!isMounted(mp)) {
            return;
        }
        try {
            Files.readAttributes(mp, "unix:ino");
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("not connected") || e instanceof java.nio.file.FileSystemException) {
                LOG.warn("clearing stale FUSE mount at {} ({})", mp, e.getMessage());
                unmount(mp, true);
            }
        }
    }

    private static void unmount(Path mp, boolean lazy) throws IOException {
        List<List<String>> attempts = lazy
                ? List.of(List.of("fusermount", "-u", "-z", mp.toString()), List.of("umount", "-l", mp.toString()))
                : List.of(List.of("fusermount", "-u", mp.toString()), List.of("umount", mp.toString()));
        IOException last = null;
        for (List<String> cmd : attempts) {
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor() == 0 || !isMounted(mp)) {
                    return; // or gone meanwhile (libfuse's own SIGTERM handler unmounts too)
                }
                last = new IOException(String.join(" ", cmd) + " failed: " + out);
            } catch (IOException e) {
                last = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while unmounting " + mp, e);
            }
        }
        throw last;
    }

    private static String unescape(String s) {
        // mountinfo escapes space, tab, newline and backslash as \ooo
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException | StringIndexOutOfBoundsException ignored) {
                    // not an escape: keep the backslash
                }
            }
            b.append(c);
        }
        return b.toString();
    }
}
