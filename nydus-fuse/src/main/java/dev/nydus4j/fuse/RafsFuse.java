package dev.nydus4j.fuse;

import com.kenai.jffi.MemoryIO;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves the images of a {@link MountTable} read-only through libfuse2's path API (jnr-fuse): the image at "/"
 * is the whole mount, images at sub-paths sit below read-only pseudo directories. The mount is read-only, so the
 * kernel answers every write operation with EROFS itself. Errors are mapped to errno here, once: missing → ENOENT, everything else from the image or the storage
 * → EIO (logged). Thread-safe: FUSE worker threads call in concurrently.
 */
public final class RafsFuse extends FuseStubFS {
    private static final Logger LOG = LoggerFactory.getLogger(RafsFuse.class);
    private static final int O_ACCMODE = 3;
    private static final int W_OK = 2;
    /** keep_cache is bit 1 of the bitfield word at offset 20 of struct fuse_file_info (libfuse2, x86_64). */
    private static final int FFI_BITFIELD_OFFSET = 20;
    private static final int KEEP_CACHE_BIT = 2;
    private static final int PSEUDO_DIR_MODE = 040555;
    private static final MemoryIO MEMORY = MemoryIO.getInstance();

    private final MountTable table;
    private final boolean serveXattrs;
    private final AtomicLong readErrors = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final Map<Long, OpenFile> openFiles = new ConcurrentHashMap<>();

    private final EventRing events;
    private final AtomicLong nextUnique = new AtomicLong(1);
    private final Map<Long, InflightRead> inflight = new ConcurrentHashMap<>();

    private record OpenFile(RafsInstance instance, long ino) {
    }

    /** A read being served, for {@code /api/v1/metrics/inflight} (hang detection). */
    record InflightRead(long inode, long unique, long timestampSecs) {
        static final int FUSE_READ_OPCODE = 15;
    }

    /** Open until the start-up image is in the table; FUSE requests wait on it. */
    private final java.util.concurrent.CountDownLatch startup;
    private volatile boolean started;
    private volatile Runnable firstRequest;

    RafsFuse(MountTable table, boolean serveXattrs, EventRing events) {
        this(table, serveXattrs, events, false);
    }

    /**
     * @param waitForImage hold every FUSE request until {@link #ready()} (the start-up image is opened while the
     *                     mount comes up; an early lookup must not see an empty root and cache ENOENT)
     */
    RafsFuse(MountTable table, boolean serveXattrs, EventRing events, boolean waitForImage) {
        this.table = java.util.Objects.requireNonNull(table, "table is null");
        this.serveXattrs = serveXattrs;
        this.events = java.util.Objects.requireNonNull(events, "events is null");
        this.startup = new java.util.concurrent.CountDownLatch(waitForImage ? 1 : 0);
        this.started = !waitForImage;
    }

    /** Lets the requests held since the mount through. */
    void ready() {
        started = true;
        startup.countDown();
    }

    /** Run once, by the first FUSE request after FUSE_INIT (see {@link FuseMount}). */
    void onFirstRequest(Runnable r) {
        firstRequest = r;
    }

    private void awaitStart() {
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

    /** Reads currently being served. */
    java.util.Collection<InflightRead> inflight() {
        return inflight.values();
    }

    /** Bytes served to readers so far (all instances). */
    public long bytesRead() {
        return bytesRead.get();
    }

    /** Failed read requests so far (all instances). */
    public long readErrors() {
        return readErrors.get();
    }

    /** Resolves a FUSE path to an image inode: empty when absent; pseudo directories are handled by callers. */
    private Optional<InodeAttributes> inImage(MountTable.InImage r) throws IOException {
        return r.instance().image().resolve(r.subPath());
    }

    private static void record(MountTable.Resolution r, FsMetrics.Op op, boolean ok, long t0) {
        if (r instanceof MountTable.InImage in) {
            in.instance().metrics().record(op, ok, System.nanoTime() - t0);
        }
    }

    /** Per-inode records ({@code iostats_files}, {@code access_pattern}, {@code latest_read_files}) when enabled. */
    private static void recordFile(RafsInstance inst, long imageIno, FsMetrics.Op op, boolean ok, long bytes) {
        FsMetrics m = inst.metrics();
        if (m.perFile()) {
            m.file(MountTable.fuseIno(inst, imageIno), op, ok, bytes);
        }
    }

    @Override
    public int getattr(String path, FileStat stat) {
        awaitStart();
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo p) {
                fillPseudo(p, stat);
                rc = 0;
            } else {
                MountTable.InImage in = (MountTable.InImage) r;
                Optional<InodeAttributes> a = inImage(in);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else {
                    fill(in.instance(), a.get(), stat);
                    recordFile(in.instance(), a.get().ino(), FsMetrics.Op.GETATTR, true, 0);
                    rc = 0;
                }
            }
        } catch (Exception e) {
            rc = errno(e, "getattr", path);
        }
        record(r, FsMetrics.Op.GETATTR, rc == 0, t0);
        return rc;
    }

    private static void fillPseudo(MountTable.Pseudo p, FileStat stat) {
        stat.st_mode.set(PSEUDO_DIR_MODE);
        stat.st_ino.set(p.ino());
        stat.st_nlink.set(2 + p.children().size());
        stat.st_size.set(4096);
        stat.st_blksize.set(4096);
    }

    private static void fill(RafsInstance inst, InodeAttributes a, FileStat stat) {
        stat.st_mode.set(a.mode());
        stat.st_ino.set(MountTable.fuseIno(inst, a.ino()));
        stat.st_nlink.set(a.nlink());
        stat.st_uid.set(a.uid());
        stat.st_gid.set(a.gid());
        stat.st_size.set(a.size());
        stat.st_blocks.set(a.blocks());
        stat.st_blksize.set(4096);
        stat.st_rdev.set(a.rdev() & 0xFFFFFFFFL);
        setTime(stat.st_mtim, a);
        setTime(stat.st_ctim, a);
        setTime(stat.st_atim, a);
    }

    private static void setTime(Timespec t, InodeAttributes a) {
        t.tv_sec.set(a.mtimeSec());
        t.tv_nsec.set(a.mtimeNsec());
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        awaitStart();
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc = 0;
        try {
            if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo p) {
                filler.apply(buf, ".", null, 0);
                filler.apply(buf, "..", null, 0);
                for (String c : p.children()) {
                    if (filler.apply(buf, c, null, 0) != 0) {
                        break;
                    }
                }
            } else {
                MountTable.InImage in = (MountTable.InImage) r;
                Optional<InodeAttributes> a = inImage(in);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else if (!a.get().isDirectory()) {
                    rc = -ErrorCodes.ENOTDIR();
                } else {
                    for (DirEntry e : in.instance().image().readdir(a.get().ino())) {
                        if (filler.apply(buf, e.name(), null, 0) != 0) {
                            break;
                        }
                    }
                }
            }
        } catch (Exception e) {
            rc = errno(e, "readdir", path);
        }
        record(r, FsMetrics.Op.READDIR, rc == 0, t0);
        return rc;
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        awaitStart();
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if (!(r instanceof MountTable.InImage in)) {
                rc = r == null ? -ErrorCodes.ENOENT() : -ErrorCodes.EINVAL();
            } else {
                Optional<InodeAttributes> a = inImage(in);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else if (!a.get().isSymlink()) {
                    rc = -ErrorCodes.EINVAL();
                } else {
                    byte[] target = in.instance().image().readlink(a.get().ino());
                    if (size > 0) {
                        int n = (int) Math.min(target.length, size - 1);
                        buf.put(0, target, 0, n);
                        buf.putByte(n, (byte) 0);
                    }
                    recordFile(in.instance(), a.get().ino(), FsMetrics.Op.READLINK, true, 0);
                    rc = 0;
                }
            }
        } catch (Exception e) {
            rc = errno(e, "readlink", path);
        }
        record(r, FsMetrics.Op.READLINK, rc == 0, t0);
        return rc;
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        awaitStart();
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if ((fi.flags.get() & O_ACCMODE) != 0) {
                rc = r == null ? -ErrorCodes.ENOENT() : -ErrorCodes.EROFS();
            } else if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo) {
                rc = -ErrorCodes.EISDIR();
            } else {
                MountTable.InImage in = (MountTable.InImage) r;
                Optional<InodeAttributes> a = inImage(in);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else if (a.get().isDirectory()) {
                    rc = -ErrorCodes.EISDIR();
                } else {
                    long fh = nextHandle.getAndIncrement();
                    openFiles.put(fh, new OpenFile(in.instance(), a.get().ino()));
                    fi.fh.set(fh);
                    // the image never changes: let the kernel keep its page cache across opens
                    Pointer mem = Struct.getMemory(fi);
                    mem.putInt(FFI_BITFIELD_OFFSET, mem.getInt(FFI_BITFIELD_OFFSET) | KEEP_CACHE_BIT);
                    recordFile(in.instance(), a.get().ino(), FsMetrics.Op.OPEN, true, 0);
                    rc = 0;
                }
            }
        } catch (Exception e) {
            rc = errno(e, "open", path);
        }
        record(r, FsMetrics.Op.OPEN, rc == 0, t0);
        return rc;
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        OpenFile f = openFiles.remove(fi.fh.get());
        if (f != null) {
            f.instance().metrics().record(FsMetrics.Op.RELEASE, true, 0);
            recordFile(f.instance(), f.ino(), FsMetrics.Op.RELEASE, true, 0);
        }
        return 0;
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        long t0 = System.nanoTime();
        OpenFile f = openFiles.get(fi.fh.get());
        if (f == null) {
            return -ErrorCodes.EBADF();
        }
        long unique = nextUnique.getAndIncrement();
        inflight.put(unique, new InflightRead(MountTable.fuseIno(f.instance(), f.ino()), unique,
                System.currentTimeMillis() / 1000));
        int rc;
        try {
            int want = (int) Math.min(size, Integer.MAX_VALUE);
            // the image reads straight into libfuse's reply buffer: no Java buffer, no copies (a cached chunk goes
            // from the cache file into it by FileChannel.read)
            ByteBuffer b = MEMORY.newDirectByteBuffer(buf.address(), want);
            int n = f.instance().image().read(f.ino(), offset, b);
            if (n > 0) {
                bytesRead.addAndGet(n);
                f.instance().metrics().read(n);
            }
            rc = n;
        } catch (Exception e) {
            readErrors.incrementAndGet();
            rc = errno(e, "read", path);
        } finally {
            inflight.remove(unique);
        }
        f.instance().metrics().record(FsMetrics.Op.READ, rc >= 0, System.nanoTime() - t0);
        recordFile(f.instance(), f.ino(), FsMetrics.Op.READ, rc >= 0, Math.max(rc, 0));
        return rc;
    }

    @Override
    public int statfs(String path, Statvfs st) {
        awaitStart();
        long blocks = 0;
        long inodes = 0;
        for (RafsInstance i : table.all()) {
            RafsFileSystem.FsStats s = i.image().stats();
            blocks += s.totalBlocks();
            inodes += s.inodes();
        }
        st.f_bsize.set(4096);
        st.f_frsize.set(4096);
        st.f_blocks.set(blocks);
        st.f_bfree.set(0);
        st.f_bavail.set(0);
        st.f_files.set(inodes);
        st.f_ffree.set(0);
        st.f_favail.set(0);
        st.f_namemax.set(255);
        return 0;
    }

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        awaitStart();
        if (!serveXattrs) {
            return -ErrorCodes.ENOSYS();
        }
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo) {
                rc = -ErrorCodes.ENODATA();
            } else {
                MountTable.InImage in = (MountTable.InImage) r;
                Optional<InodeAttributes> a = inImage(in);
                Optional<byte[]> v = a.isEmpty() ? Optional.empty() : in.instance().image().getxattr(a.get().ino(), name);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else if (v.isEmpty()) {
                    rc = -ErrorCodes.ENODATA();
                } else {
                    rc = copyOut(v.get(), value, size);
                }
            }
        } catch (Exception e) {
            rc = errno(e, "getxattr", path);
        }
        record(r, FsMetrics.Op.GETXATTR, rc >= 0, t0);
        return rc;
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        awaitStart();
        if (!serveXattrs) {
            return -ErrorCodes.ENOSYS();
        }
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo) {
                rc = 0;
            } else {
                MountTable.InImage in = (MountTable.InImage) r;
                Optional<InodeAttributes> a = inImage(in);
                if (a.isEmpty()) {
                    rc = -ErrorCodes.ENOENT();
                } else {
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    for (String n : in.instance().image().listxattr(a.get().ino())) {
                        out.writeBytes(n.getBytes(StandardCharsets.UTF_8));
                        out.write(0);
                    }
                    rc = copyOut(out.toByteArray(), list, size);
                }
            }
        } catch (Exception e) {
            rc = errno(e, "listxattr", path);
        }
        record(r, FsMetrics.Op.LISTXATTR, rc >= 0, t0);
        return rc;
    }

    /** xattr protocol: size 0 asks for the length; a too small buffer is ERANGE. */
    private static int copyOut(byte[] bytes, Pointer dst, long size) {
        if (size == 0) {
            return bytes.length;
        }
        if (size < bytes.length) {
            return -ErrorCodes.ERANGE();
        }
        dst.put(0, bytes, 0, bytes.length);
        return bytes.length;
    }

    @Override
    public int access(String path, int mask) {
        awaitStart();
        MountTable.Resolution r = table.resolve(path);
        try {
            if (r == null || r instanceof MountTable.InImage in && inImage(in).isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            return (mask & W_OK) != 0 ? -ErrorCodes.EROFS() : 0;
        } catch (Exception e) {
            return errno(e, "access", path);
        }
    }

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        awaitStart();
        long t0 = System.nanoTime();
        MountTable.Resolution r = table.resolve(path);
        int rc;
        try {
            if (r == null) {
                rc = -ErrorCodes.ENOENT();
            } else if (r instanceof MountTable.Pseudo) {
                rc = 0;
            } else {
                Optional<InodeAttributes> a = inImage((MountTable.InImage) r);
                rc = a.isEmpty() ? -ErrorCodes.ENOENT()
                        : a.get().type() == FileType.DIRECTORY ? 0 : -ErrorCodes.ENOTDIR();
            }
        } catch (Exception e) {
            rc = errno(e, "opendir", path);
        }
        record(r, FsMetrics.Op.OPENDIR, rc == 0, t0);
        return rc;
    }

    // No write operation is registered with libfuse: the mount is read-only ("ro", MS_RDONLY), so the kernel answers
    // EROFS for every write, create, unlink, rename, chmod, setxattr, ... before a request reaches FUSE; and each
    // registered operation is a native closure class jnr-ffi generates at start-up (about half of them were writes).

    private int errno(Exception e, String op, String path) {
        if (e instanceof FileNotFoundException) {
            return -ErrorCodes.ENOENT();
        }
        events.add(op + " " + path + ": " + e.getMessage());
        if (e instanceof IOException) {
            LOG.warn("{} {} failed: {}", op, path, e.getMessage());
            LOG.debug("{} {} failed", op, path, e);
            return -ErrorCodes.EIO();
        }
        LOG.error("{} {} failed unexpectedly", op, path, e);
        return -ErrorCodes.EIO();
    }
}
