package dev.nydus4j.fuse;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The kernel engine: speaks the FUSE protocol on /dev/fuse itself instead of through libfuse2. Mounts with
 * {@code mount(2)} (root only), then N worker threads each block in {@code read(2)} on the device into their own
 * native buffer and answer with one {@code write(2)}; READ data goes from the image straight into the reply buffer.
 * Compared with libfuse2 this negotiates 1 MiB READs, READDIRPLUS, no OPEN/OPENDIR/FLUSH round trips (see
 * {@link FuseInit}), and starts without jnr-ffi's class generation. The session ends when the mount goes away
 * (umount here or from outside: read(2) answers ENODEV). Requests are decoded by {@link KernelDispatcher}.
 */
final class KernelSession implements FuseMount.Session {
    private static final Logger LOG = LoggerFactory.getLogger(KernelSession.class);
    private static final int ENOENT = Errno.ENOENT;
    private static final int EBUSY = 16;
    /**
     * Request buffer: the kernel refuses a read of /dev/fuse smaller than a WRITE request of max_write bytes (header 40
     * + write_in 40 + data), though a read-only mount gets no WRITE and its requests are tiny (names <= 255). It is
     * malloc'ed, not touched beyond the requests, so its pages are not resident.
     */
    private static final int IN_SIZE = 80 + FuseInit.MAX_WRITE;
    /** Reply buffer: a 1 MiB READ (or READDIR) and its header. */
    private static final int OUT_SIZE = FuseOutHeader.SIZE + FuseInit.MAX_PAGES_COUNT * 4096;

    private final int fd;
    private final Path mountpoint;
    private final FsOps ops;
    private final KernelDispatcher dispatcher;
    private final List<Thread> workers = new ArrayList<>();
    /** For notifications, written from API threads. */
    private final Memory notifyMem = new Memory(FuseOutHeader.SIZE + 4096 + 32);
    private final ByteBuffer notifyBuf = notifyMem.getByteBuffer(0, notifyMem.size()).order(ByteOrder.LITTLE_ENDIAN);
    private volatile boolean fdClosed;
    private volatile boolean detachedBusy;
    /**
     * Set once FUSE_INIT is answered and {@code afterInit} ran: the kernel sends the first other requests as soon as
     * the answer is written, and they must not see the state before {@code afterInit} (an open before the readahead
     * is raised keeps the small window for good).
     */
    private volatile boolean initialised;
    private final java.util.concurrent.CountDownLatch initDone = new java.util.concurrent.CountDownLatch(1);
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();

    private final Runnable afterInit;

    private KernelSession(int fd, Path mountpoint, FsOps ops, Runnable afterInit) {
        this.fd = fd;
        this.mountpoint = mountpoint;
        this.ops = ops;
        this.dispatcher = new KernelDispatcher(ops);
        this.afterInit = afterInit;
    }

    /**
     * Mounts at {@code mp} (which must exist and be free) and serves with {@code threads} workers. Returns once
     * mount(2) did: the mount is usable then (the kernel holds requests until FUSE_INIT is answered, which a worker
     * does first); {@code afterInit} runs on that worker once the answer is written.
     *
     * @throws IOException when /dev/fuse cannot be opened or mount(2) fails (not root, no FUSE), naming the call
     */
    static KernelSession mount(FsOps ops, Path mp, int threads, Runnable afterInit) throws IOException {
        int fd;
        try {
            fd = LibC.open("/dev/fuse", LibC.O_RDWR | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("cannot open /dev/fuse: errno " + e.getErrorCode(), e);
        }
        // default_permissions: the kernel checks modes itself (as for EROFS or squashfs; no ACCESS round trips);
        // allow_other: every user sees the mount, as with libfuse
        String options = "fd=" + fd + ",rootmode=40000,user_id=" + LibC.getuid() + ",group_id=" + LibC.getgid()
                + ",allow_other,default_permissions";
        // source "rafs", type "fuse": as upstream's nydusd mounts, so `mount -t fuse` and tools that count or find
        // nydusd mounts that way (nydus-snapshotter's integration tests) see ours too
        try {
            LibC.mount("rafs", mp.toString(), "fuse", LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV,
                    options);
        } catch (LastErrorException e) {
            closeQuietly(fd);
            throw new IOException("mount(2) of FUSE at " + mp + " failed: errno " + e.getErrorCode()
                    + (e.getErrorCode() == 1 ? " (EPERM: needs root)" : ""), e);
        }
        KernelSession s = new KernelSession(fd, mp, ops, afterInit);
        // workers start after mount(2): before it, read(2) on the device fails (EPERM); FUSE_INIT is queued meanwhile
        s.startWorkers(threads);
        return s;
    }

    /**
     * Serves a FUSE session another daemon mounted and negotiated (live upgrade, failover): its /dev/fuse
     * descriptor {@code fd} came from the supervisor. No mount(2) and no FUSE_INIT (the kernel sends it once per
     * connection): the negotiated parameters are restored instead. With {@code resend}, the requests the previous
     * daemon had read but not answered are queued again (FUSE_NOTIFY_RESEND; kernels before 6.9 refuse it, and
     * those requests then wait for good).
     */
    static KernelSession resume(FsOps ops, int fd, Path mp, int threads, FuseInit.Negotiated negotiated,
                                List<String> rootNegatives, boolean resend) {
        KernelSession s = new KernelSession(fd, mp, ops, () -> { });
        s.dispatcher.restore(negotiated, rootNegatives);
        s.initialised = true;
        s.initDone.countDown();
        s.startWorkers(threads);
        if (resend) {
            boolean ok;
            synchronized (s) {
                ok = s.send(FuseNotify.resend(s.notifyBuf));
            }
            if (!ok) {
                LOG.warn("the kernel refused FUSE_NOTIFY_RESEND on {} (before Linux 6.9): requests the previous"
                        + " daemon read but did not answer stay unanswered", mp);
            }
        }
        return s;
    }

    private void startWorkers(int threads) {
        running.set(threads);
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::serve, "fuse-" + i + " " + mountpoint);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /** The /dev/fuse descriptor (handed to a supervisor by {@code sendfd}). */
    int fd() {
        return fd;
    }

    /** What FUSE_INIT settled, or null before it was answered. */
    FuseInit.Negotiated negotiated() {
        return dispatcher.negotiated();
    }

    /** The negative names cached in the pseudo root (saved for a daemon taking the session over). */
    List<String> rootNegatives() {
        return dispatcher.rootNegatives();
    }

    /** One worker: read a request, answer it, until the mount is gone; the last one out closes the device. */
    private void serve() {
        try {
            loop();
        } finally {
            if (running.decrementAndGet() == 0) {
                release();
            }
        }
    }

    private void loop() {
        Memory inMem = new Memory(IN_SIZE);
        Memory outMem = new Memory(OUT_SIZE);
        try {
            loop(inMem, outMem);
        } finally {
            // the loop uses raw addresses: the memory must not be collected (and freed) before it ends
            java.lang.ref.Reference.reachabilityFence(inMem);
            java.lang.ref.Reference.reachabilityFence(outMem);
        }
    }

    private void loop(Memory inMem, Memory outMem) {
        long inAddr = Pointer.nativeValue(inMem);
        long outAddr = Pointer.nativeValue(outMem);
        ByteBuffer in = inMem.getByteBuffer(0, IN_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = outMem.getByteBuffer(0, OUT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer data = out.duplicate().position(FuseOutHeader.SIZE).slice();
        while (true) {
            long n;
            try {
                n = LibC.read(fd, inAddr, IN_SIZE);
            } catch (LastErrorException e) {
                int err = e.getErrorCode();
                if (err == Errno.EINTR || err == Errno.EAGAIN || err == ENOENT) {
                    continue; // ENOENT: the request was interrupted before we got it
                }
                if (err != Errno.ENODEV && !fdClosed) {
                    LOG.error("reading /dev/fuse of {} failed: errno {}; this worker stops", mountpoint, err);
                }
                return; // ENODEV: unmounted, the session is over
            }
            int opcode = FuseInHeader.opcode(in);
            if (opcode != FuseOpcode.INIT && !initialised) {
                awaitInit();
            }
            int len;
            try {
                len = dispatcher.handle(in, (int) n, out, data);
            } catch (Throwable t) { // never lose a worker (the kernel would wait for this answer forever)
                LOG.error("FUSE request {} failed unexpectedly", opcode, t);
                FuseOutHeader.put(out, FuseOutHeader.SIZE, -Errno.EIO, FuseInHeader.unique(in));
                len = FuseOutHeader.SIZE;
            }
            if (len > 0) {
                write(outAddr, len, opcode);
            }
            if (opcode == FuseOpcode.INIT) {
                try {
                    afterInit.run();
                } finally {
                    initialised = true;
                    initDone.countDown();
                }
            }
        }
    }

    private void awaitInit() {
        try {
            initDone.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void write(long addr, int len, int opcode) {
        try {
            LibC.write(fd, addr, len);
        } catch (LastErrorException e) {
            // ENOENT: the request was interrupted (its caller is gone) — nothing to answer
            if (e.getErrorCode() != ENOENT && e.getErrorCode() != Errno.ENODEV) {
                LOG.warn("answering FUSE request {} on {} failed: errno {}", opcode, mountpoint, e.getErrorCode());
            }
        }
    }

    /**
     * Makes the kernel forget what it cached about {@code virtualMountpoint} and the pseudo directories leading to
     * it, after an image was mounted or unmounted there (entries are cached for a day, negative ones too).
     *
     * @param rootNames for "/": the names in the image's root (they must disappear on umount); else empty
     */
    @Override
    public void invalidate(String virtualMountpoint, List<String> rootNames) {
        if (!ops.isStarted()) {
            return; // the start-up image: nothing was answered yet (and requests wait for it: no lock to take)
        }
        if (virtualMountpoint.equals("/")) {
            List<String> names = new ArrayList<>(rootNames);
            names.addAll(dispatcher.takeRootNegatives());
            for (String n : names) {
                notifyEntry(MountTable.ROOT_INO, n);
            }
            notifyInode(MountTable.ROOT_INO);
            return;
        }
        String parent = "/";
        for (String c : virtualMountpoint.substring(1).split("/")) {
            long node = parent.equals("/") ? MountTable.ROOT_INO : ops.table().pseudoIno(parent);
            if (node != 0) {
                notifyEntry(node, c);
                notifyInode(node);
            }
            parent = MountTable.childPath(parent, c);
        }
    }

    private synchronized void notifyEntry(long parent, String name) {
        send(FuseNotify.invalEntry(notifyBuf, parent, name));
    }

    private synchronized void notifyInode(long node) {
        send(FuseNotify.invalInode(notifyBuf, node));
    }

    /** @return whether the kernel took the notification (ENOENT counts: nothing was cached) */
    private boolean send(int len) {
        if (fdClosed) {
            return false;
        }
        try {
            LibC.write(fd, Pointer.nativeValue(notifyMem), len);
            return true;
        } catch (LastErrorException e) {
            // ENOENT: the kernel has nothing cached there
            if (e.getErrorCode() != ENOENT) {
                LOG.debug("FUSE notification {} on {} failed: errno {}", notifyBuf.getInt(4), mountpoint,
                        e.getErrorCode());
                return false;
            }
            return true;
        }
    }

    @Override
    public String engine() {
        return "kernel";
    }

    @Override
    public boolean isAlive() {
        for (Thread t : workers) {
            if (t.isAlive()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void await() throws InterruptedException {
        for (Thread t : workers) {
            t.join();
        }
    }

    @Override
    public boolean awaitEnd(long millis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (Thread t : workers) {
            long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
            if (left > 0) {
                t.join(left);
            }
        }
        return !isAlive();
    }

    /** umount2(2): a busy mount (open files, a cwd inside) is detached, as {@code umount -l}. */
    @Override
    public void unmount(boolean lazy) throws IOException {
        try {
            LibC.umount2(mountpoint.toString(), lazy ? LibC.MNT_DETACH : 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == EBUSY && !lazy) {
                LOG.warn("{} is busy: detaching it (its open files are served until they are closed)", mountpoint);
                detachedBusy = true;
                unmount(true);
            } else if (e.getErrorCode() != Errno.EINVAL && e.getErrorCode() != ENOENT) { // EINVAL: not mounted
                throw new IOException("umount2 of " + mountpoint + " failed: errno " + e.getErrorCode(), e);
            }
        }
    }

    @Override
    public boolean detachedBusy() {
        return detachedBusy;
    }

    /** Closes the device once no worker reads it any more (a close would not wake a blocked read). */
    @Override
    public synchronized void release() {
        if (!fdClosed && running.get() == 0) {
            fdClosed = true;
            closeQuietly(fd);
        }
    }

    private static void closeQuietly(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // nothing to do
        }
    }
}
