package dev.nydus4j.fuse;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What both FUSE engines serve, written once: resolution of paths (libfuse2's path API) and node ids (the kernel
 * protocol) to image inodes or pseudo directories, the attributes the kernel sees, directory listings, reads with
 * their metrics and in-flight records, xattrs, statfs, errno mapping (missing → ENOENT, anything else from the
 * image or the storage → EIO, logged and kept in the {@link EventRing}), and the latch that holds requests until
 * the start-up image is in the table. The engines only translate their wire/struct formats. Thread-safe.
 */
final class FsOps {
    private static final Logger LOG = LoggerFactory.getLogger(FsOps.class);
    static final int PSEUDO_DIR_MODE = 040555;
    static final int BLOCK_SIZE = 4096;
    private static final int W_OK = 2;

    private final MountTable table;
    private final boolean serveXattrs;
    private final EventRing events;
    private final AtomicLong readErrors = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong nextUnique = new AtomicLong(1);
    private final Map<Long, InflightRead> inflight = new ConcurrentHashMap<>();
    /** Open until the start-up image is in the table; requests wait on it. */
    private final CountDownLatch startup;
    private volatile boolean started;
    private volatile Runnable firstRequest;
    /** Images restored by a takeover whose inodes are not all known yet (see {@link #adoptAfterTakeover}). */
    private final java.util.Set<RafsInstance> adopting = ConcurrentHashMap.newKeySet();

    /** A read being served, for {@code /api/v1/metrics/inflight} (hang detection). */
    record InflightRead(long inode, long unique, long timestampSecs) {
        static final int FUSE_READ_OPCODE = FuseOpcode.READ;
    }

    /** What a path or node id refers to. */
    sealed interface Target permits Inode, Dir {
    }

    /** An inode of an image, with its attributes. */
    record Inode(RafsInstance instance, InodeAttributes attr) implements Target {
        long fuseIno() {
            return MountTable.fuseIno(instance, attr.ino());
        }
    }

    /** A pseudo directory: the root of a shared daemon or a directory leading to sub-mountpoints. */
    record Dir(MountTable.Pseudo pseudo) implements Target {
    }

    /** The attributes the kernel sees ({@code st_ino} as {@link MountTable#fuseIno}: hard links share it). */
    record Stat(long ino, int mode, int nlink, int uid, int gid, long size, long blocks, int rdev, long mtimeSec,
                int mtimeNsec) {
    }

    /**
     * A directory entry as the kernel sees it.
     *
     * @param ino      the entry's {@code st_ino}
     * @param imageIno its inode in the listed image, or -1 in a pseudo directory
     */
    record Entry(byte[] name, long ino, int direntType, long imageIno) {
        boolean isDotOrDotDot() {
            return name.length == 1 && name[0] == '.' || name.length == 2 && name[0] == '.' && name[1] == '.';
        }
    }

    /** An errno to answer with, without a stack trace (it is an answer, not a failure). */
    static final class ErrnoException extends Exception {
        final int errno;

        ErrnoException(int errno) {
            super(null, null, false, false);
            this.errno = errno;
        }
    }

    private static final ErrnoException NOT_FOUND = new ErrnoException(Errno.ENOENT);
    private static final ErrnoException NO_DATA = new ErrnoException(Errno.ENODATA);

    /** An image inode by number only: what READ and the xattr requests need (no attributes decoded). */
    record ImageNode(RafsInstance instance, long ino) {
    }

    /**
     * @param waitForImage hold every request until {@link #ready()} (the start-up image is opened while the mount
     *                     comes up; an early lookup must not see an empty root and cache ENOENT)
     */
    FsOps(MountTable table, boolean serveXattrs, EventRing events, boolean waitForImage) {
        this.table = Objects.requireNonNull(table, "table is null");
        this.serveXattrs = serveXattrs;
        this.events = Objects.requireNonNull(events, "events is null");
        this.startup = new CountDownLatch(waitForImage ? 1 : 0);
        this.started = !waitForImage;
    }

    MountTable table() {
        return table;
    }

    boolean serveXattrs() {
        return serveXattrs;
    }

    /**
     * Whether the kernel engine answers OPEN (and so counts opens) instead of switching opens off with ENOSYS: while
     * some served image keeps per-file metrics ({@code iostats_files}, {@code access_pattern},
     * {@code latest_read_files}). Decided at each OPEN until the first ENOSYS, which the kernel keeps for the mount.
     */
    boolean countsOpens() {
        for (RafsInstance inst : table.all()) {
            if (inst.metrics().perFile()) {
                return true;
            }
        }
        return false;
    }

    /** Whether requests are let through (the start-up image, if any, is in the table). */
    boolean isStarted() {
        return started;
    }

    /** Lets the requests held since the mount through. */
    void ready() {
        started = true;
        startup.countDown();
    }

    /** Run once, by the first request after FUSE_INIT (libfuse engine: see {@link FuseMount}). */
    void onFirstRequest(Runnable r) {
        firstRequest = r;
    }

    /** Called by every request before it touches the table. */
    void awaitStart() {
        Runnable first = firstRequest;
        if (first != null) {
            firstRequest = null;
            first.run(); // two racing threads may both run it: it is idempotent
        }
        if (!started) {
            try {
                startup.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * After a takeover the kernel holds node ids it got from the previous daemon, for inodes this daemon's image
     * (RAFS v6 in direct mode serves an inode only once it was found in a directory) has not found yet. Before the
     * first such node id of {@code inst} is served, one walk of its whole tree makes every inode reachable from the
     * root known (as {@link dev.nydus4j.rafs.RafsImage#inodeNumbers} does, with every structural check of a lookup);
     * a node id that is no inode of the tree stays "no such inode". Images mounted normally never walk.
     */
    void adoptAfterTakeover(RafsInstance inst) {
        adopting.add(inst);
    }

    private void adopt(RafsInstance inst) throws ErrnoException {
        if (adopting.isEmpty() || !adopting.contains(inst)) {
            return;
        }
        synchronized (adopting) {
            if (!adopting.contains(inst)) {
                return;
            }
            long t0 = System.nanoTime();
            try {
                int n = inst.image().inodeNumbers().size();
                LOG.info("taken-over image at {}: {} inodes known after a walk of {} ms", inst.mountpoint(), n,
                        (System.nanoTime() - t0) / 1_000_000);
            } catch (IOException | RuntimeException e) {
                // what the walk found before the failure is served; the rest fails as it would in a lookup
                errno(e, "walk after takeover of", inst.mountpoint());
            }
            adopting.remove(inst);
        }
    }

    Collection<InflightRead> inflight() {
        return inflight.values();
    }

    long bytesRead() {
        return bytesRead.get();
    }

    long readErrors() {
        return readErrors.get();
    }

    // ---- resolution

    /** Resolves a FUSE path (libfuse engine). */
    Target resolvePath(String path) throws IOException, ErrnoException {
        MountTable.Resolution r = table.resolve(path);
        if (r == null) {
            throw NOT_FOUND;
        }
        if (r instanceof MountTable.Pseudo p) {
            return new Dir(p);
        }
        MountTable.InImage in = (MountTable.InImage) r;
        Optional<InodeAttributes> a = in.instance().image().resolve(in.subPath());
        if (a.isEmpty()) {
            throw NOT_FOUND;
        }
        return new Inode(in.instance(), a.get());
    }

    /** Resolves a kernel node id (see {@link MountTable#nodeId}). */
    Target node(long nodeId) throws IOException, ErrnoException {
        if (nodeId == MountTable.ROOT_INO) {
            return resolvePath("/");
        }
        if (MountTable.isImageNode(nodeId)) {
            RafsInstance inst = table.instanceOfNode(nodeId);
            if (inst == null) {
                throw NOT_FOUND; // its image was unmounted
            }
            adopt(inst);
            return new Inode(inst, inst.image().getattr(MountTable.imageIno(inst, nodeId)));
        }
        MountTable.Pseudo p = table.pseudo(nodeId);
        if (p == null) {
            throw NOT_FOUND;
        }
        return new Dir(p);
    }

    /**
     * The image inode behind a kernel node id without its attributes, or null for a pseudo directory.
     *
     * @throws ErrnoException ENOENT when its image is not served any more
     */
    ImageNode imageNode(long nodeId) throws ErrnoException {
        if (nodeId == MountTable.ROOT_INO || !MountTable.isImageNode(nodeId)) {
            RafsInstance whole = nodeId == MountTable.ROOT_INO ? table.get("/") : null;
            return whole == null ? null : new ImageNode(whole, whole.image().rootInode());
        }
        RafsInstance inst = table.instanceOfNode(nodeId);
        if (inst == null) {
            throw NOT_FOUND;
        }
        adopt(inst);
        return new ImageNode(inst, MountTable.imageIno(inst, nodeId));
    }

    /** Looks {@code name} up in {@code parent}. */
    Target lookup(Target parent, String name) throws IOException, ErrnoException {
        if (parent instanceof Dir d) {
            return resolvePath(d.pseudo().childPath(name));
        }
        Inode in = (Inode) parent;
        if (!in.attr().isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR);
        }
        Optional<InodeAttributes> a = in.instance().image().lookup(in.attr().ino(), name);
        if (a.isEmpty()) {
            throw NOT_FOUND;
        }
        return new Inode(in.instance(), a.get());
    }

    /** Node id of a target (kernel engine). */
    long nodeId(Target t) {
        return t instanceof Inode in ? MountTable.nodeId(in.instance(), in.attr().ino()) : ((Dir) t).pseudo().ino();
    }

    // ---- operations

    Stat stat(Target t) {
        if (t instanceof Dir d) {
            return new Stat(d.pseudo().ino(), PSEUDO_DIR_MODE, 2 + d.pseudo().children().size(), 0, 0, BLOCK_SIZE, 0,
                    0, 0, 0);
        }
        Inode in = (Inode) t;
        InodeAttributes a = in.attr();
        return new Stat(in.fuseIno(), a.mode(), a.nlink(), a.uid(), a.gid(), a.size(), a.blocks(), a.rdev(),
                a.mtimeSec(), a.mtimeNsec());
    }

    /** getattr with its metrics. */
    Stat getattr(Target t) {
        if (t instanceof Inode in) {
            recordFile(in.instance(), in.attr().ino(), FsMetrics.Op.GETATTR, true, 0);
        }
        return stat(t);
    }

    /** The entries of a directory, "." and ".." first. */
    List<Entry> list(Target t) throws IOException, ErrnoException {
        int dirType = dtype(FileType.DIRECTORY);
        if (t instanceof Dir d) {
            List<Entry> out = new ArrayList<>(d.pseudo().children().size() + 2);
            out.add(new Entry(new byte[]{'.'}, d.pseudo().ino(), dirType, -1));
            out.add(new Entry(new byte[]{'.', '.'}, d.pseudo().ino(), dirType, -1));
            for (String c : d.pseudo().children()) {
                MountTable.Resolution r = table.resolve(d.pseudo().childPath(c));
                long ino = r instanceof MountTable.Pseudo p ? p.ino()
                        : r instanceof MountTable.InImage in ? MountTable.fuseIno(in.instance(), in.instance().image().rootInode())
                        : 0;
                out.add(new Entry(c.getBytes(StandardCharsets.UTF_8), ino, dirType, -1));
            }
            return out;
        }
        Inode in = (Inode) t;
        if (!in.attr().isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR);
        }
        List<DirEntry> entries = in.instance().image().readdir(in.attr().ino());
        List<Entry> out = new ArrayList<>(entries.size());
        for (DirEntry e : entries) {
            FileType ft = e.type();
            out.add(new Entry(e.rawName(), MountTable.fuseIno(in.instance(), e.ino()), dtype(ft),
                    e.ino()));
        }
        return out;
    }

    /** The {@code d_type} of getdents(2) (DT_REG 8, DT_DIR 4, ...): the mode's type bits; 0 is DT_UNKNOWN. */
    static int dtype(FileType ft) {
        return ft == null ? 0 : ft.modeBits() >>> 12;
    }

    byte[] readlink(Target t) throws IOException, ErrnoException {
        if (!(t instanceof Inode in) || !in.attr().isSymlink()) {
            throw new ErrnoException(Errno.EINVAL);
        }
        byte[] target = in.instance().image().readlink(in.attr().ino());
        recordFile(in.instance(), in.attr().ino(), FsMetrics.Op.READLINK, true, 0);
        return target;
    }

    /**
     * Reads file bytes into {@code dst} (from its position to its limit) with the read metrics and the in-flight
     * record; errors are counted, logged and mapped.
     *
     * @param unique the request's id for {@code /api/v1/metrics/inflight}, or 0 to number reads here
     * @param path   the file's path for messages, or null (named by its inode number then)
     * @return bytes read, or a negative errno
     */
    int read(RafsInstance inst, long imageIno, long offset, ByteBuffer dst, long unique, String path) {
        long t0 = System.nanoTime();
        long id = unique != 0 ? unique : nextUnique.getAndIncrement();
        inflight.put(id, new InflightRead(MountTable.fuseIno(inst, imageIno), id, System.currentTimeMillis() / 1000));
        int rc;
        try {
            int n = inst.image().read(imageIno, offset, dst);
            if (n > 0) {
                bytesRead.addAndGet(n);
                inst.metrics().read(n);
            }
            rc = n;
        } catch (Exception e) {
            readErrors.incrementAndGet();
            rc = errno(e, "read", path != null ? path
                    : "inode " + MountTable.fuseIno(inst, imageIno) + " of " + inst.mountpoint());
        } finally {
            inflight.remove(id);
        }
        inst.metrics().record(FsMetrics.Op.READ, rc >= 0, System.nanoTime() - t0);
        recordFile(inst, imageIno, FsMetrics.Op.READ, rc >= 0, Math.max(rc, 0));
        return rc;
    }

    /** statfs over every image served. */
    RafsFileSystem.FsStats statfs() {
        long blocks = 0;
        long inodes = 0;
        for (RafsInstance i : table.all()) {
            RafsFileSystem.FsStats s = i.image().stats();
            blocks += s.totalBlocks();
            inodes += s.inodes();
        }
        return new RafsFileSystem.FsStats(0, inodes, BLOCK_SIZE, blocks, 0);
    }

    /** The value of an xattr; ENODATA when absent (pseudo directories have none). */
    byte[] getxattr(Target t, String name) throws IOException, ErrnoException {
        if (!serveXattrs) {
            throw new ErrnoException(Errno.ENOSYS);
        }
        if (t instanceof Inode in) {
            return getxattr(in.instance(), in.attr().ino(), name);
        }
        throw NO_DATA;
    }

    /** The value of an xattr of an image inode; ENODATA when absent. */
    byte[] getxattr(RafsInstance inst, long imageIno, String name) throws IOException, ErrnoException {
        if (!serveXattrs || !inst.serveXattrs()) {
            throw new ErrnoException(Errno.ENOSYS);
        }
        Optional<byte[]> v = inst.image().getxattr(imageIno, name);
        if (v.isPresent()) {
            return v.get();
        }
        throw NO_DATA;
    }

    /** The xattr names, each NUL-terminated, as listxattr(2) returns them. */
    byte[] listxattr(Target t) throws IOException, ErrnoException {
        if (!serveXattrs) {
            throw new ErrnoException(Errno.ENOSYS);
        }
        return t instanceof Inode in ? listxattr(in.instance(), in.attr().ino()) : new byte[0];
    }

    /** The xattr names of an image inode, each NUL-terminated. */
    byte[] listxattr(RafsInstance inst, long imageIno) throws IOException, ErrnoException {
        if (!serveXattrs || !inst.serveXattrs()) {
            throw new ErrnoException(Errno.ENOSYS);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String n : inst.image().listxattr(imageIno)) {
            out.writeBytes(n.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    /**
     * The xattr size protocol: a size-0 request asks for the length, a too small buffer is ERANGE.
     *
     * @return the length to report (size 0), the number of bytes to copy, or -ERANGE
     */
    static int xattrReply(int length, long size) {
        if (size == 0) {
            return length;
        }
        return size < length ? -Errno.ERANGE : length;
    }

    /** access(2): the image is read-only; the kernel checks the mode bits itself. */
    static int access(int mask) {
        return (mask & W_OK) != 0 ? -Errno.EROFS : 0;
    }

    // ---- metrics and errors

    /** Records an operation in the target image's metrics (pseudo directories have none). */
    static void record(Target t, FsMetrics.Op op, boolean ok, long t0) {
        if (t instanceof Inode in) {
            in.instance().metrics().record(op, ok, System.nanoTime() - t0);
        }
    }

    /** Per-inode records ({@code iostats_files}, {@code access_pattern}, {@code latest_read_files}) when enabled. */
    static void recordFile(RafsInstance inst, long imageIno, FsMetrics.Op op, boolean ok, long bytes) {
        FsMetrics m = inst.metrics();
        if (m.perFile()) {
            m.file(MountTable.fuseIno(inst, imageIno), op, ok, bytes);
        }
    }

    /** Maps a failure to a negative errno, once for both engines; unexpected ones are logged and remembered. */
    int errno(Exception e, String op, String what) {
        if (e instanceof ErrnoException ee) {
            return -ee.errno;
        }
        if (e instanceof FileNotFoundException) {
            return -Errno.ENOENT;
        }
        events.add(op + " " + what + ": " + e.getMessage());
        if (e instanceof IOException) {
            LOG.warn("{} {} failed: {}", op, what, e.getMessage());
            LOG.debug("{} {} failed", op, what, e);
            return -Errno.EIO;
        }
        LOG.error("{} {} failed unexpectedly", op, what, e);
        return -Errno.EIO;
    }
}
