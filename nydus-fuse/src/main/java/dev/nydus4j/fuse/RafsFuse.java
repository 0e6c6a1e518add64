package dev.nydus4j.fuse;

import com.kenai.jffi.MemoryIO;
import dev.nydus4j.api.RafsFileSystem;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The libfuse engine: serves the images of a {@link MountTable} read-only through libfuse2's path API (jnr-fuse).
 * The fallback of {@link KernelSession} (non-root, or when the direct mount fails), and selectable with
 * {@code --fuse-engine libfuse}. Only translates libfuse's structs: the operations themselves are {@link FsOps}'s,
 * shared with the kernel engine. The mount is read-only, so the kernel answers every write operation with EROFS
 * itself. Thread-safe: FUSE worker threads call in concurrently.
 */
final class RafsFuse extends FuseStubFS {
    private static final int O_ACCMODE = 3;
    /** keep_cache is bit 1 of the bitfield word at offset 20 of struct fuse_file_info (libfuse2, x86_64). */
    private static final int FFI_BITFIELD_OFFSET = 20;
    private static final int KEEP_CACHE_BIT = 2;
    private static final MemoryIO MEMORY = MemoryIO.getInstance();

    private final FsOps ops;
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final Map<Long, OpenFile> openFiles = new ConcurrentHashMap<>();

    private record OpenFile(RafsInstance instance, long ino) {
    }

    RafsFuse(FsOps ops) {
        this.ops = ops;
    }

    FsOps ops() {
        return ops;
    }

    @Override
    public int getattr(String path, FileStat stat) {
        ops.awaitStart();
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            fill(ops.getattr(t), stat);
            rc = 0;
        } catch (Exception e) {
            rc = ops.errno(e, "getattr", path);
        }
        FsOps.record(t, FsMetrics.Op.GETATTR, rc == 0, t0);
        return rc;
    }

    private static void fill(FsOps.Stat s, FileStat stat) {
        stat.st_mode.set(s.mode());
        stat.st_ino.set(s.ino());
        stat.st_nlink.set(s.nlink());
        stat.st_uid.set(s.uid());
        stat.st_gid.set(s.gid());
        stat.st_size.set(s.size());
        stat.st_blocks.set(s.blocks());
        stat.st_blksize.set(FsOps.BLOCK_SIZE);
        stat.st_rdev.set(s.rdev() & 0xFFFFFFFFL);
        setTime(stat.st_mtim, s);
        setTime(stat.st_ctim, s);
        setTime(stat.st_atim, s);
    }

    private static void setTime(Timespec t, FsOps.Stat s) {
        t.tv_sec.set(s.mtimeSec());
        t.tv_nsec.set(s.mtimeNsec());
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        ops.awaitStart();
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc = 0;
        try {
            t = ops.resolvePath(path);
            List<FsOps.Entry> entries = ops.list(t);
            for (FsOps.Entry e : entries) {
                if (filler.apply(buf, new String(e.name(), java.nio.charset.StandardCharsets.UTF_8), null, 0) != 0) {
                    break;
                }
            }
        } catch (Exception e) {
            rc = ops.errno(e, "readdir", path);
        }
        FsOps.record(t, FsMetrics.Op.READDIR, rc == 0, t0);
        return rc;
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        ops.awaitStart();
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            byte[] target = ops.readlink(t);
            if (size > 0) {
                int n = (int) Math.min(target.length, size - 1);
                buf.put(0, target, 0, n);
                buf.putByte(n, (byte) 0);
            }
            rc = 0;
        } catch (Exception e) {
            rc = ops.errno(e, "readlink", path);
        }
        FsOps.record(t, FsMetrics.Op.READLINK, rc == 0, t0);
        return rc;
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        ops.awaitStart();
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            if ((fi.flags.get() & O_ACCMODE) != 0) {
                rc = -Errno.EROFS;
            } else if (!(t instanceof FsOps.Inode in) || in.attr().isDirectory()) {
                rc = -Errno.EISDIR;
            } else {
                long fh = nextHandle.getAndIncrement();
                openFiles.put(fh, new OpenFile(in.instance(), in.attr().ino()));
                fi.fh.set(fh);
                // the image never changes: let the kernel keep its page cache across opens
                Pointer mem = Struct.getMemory(fi);
                mem.putInt(FFI_BITFIELD_OFFSET, mem.getInt(FFI_BITFIELD_OFFSET) | KEEP_CACHE_BIT);
                FsOps.recordFile(in.instance(), in.attr().ino(), FsMetrics.Op.OPEN, true, 0);
                rc = 0;
            }
        } catch (Exception e) {
            rc = ops.errno(e, "open", path);
        }
        FsOps.record(t, FsMetrics.Op.OPEN, rc == 0, t0);
        return rc;
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        OpenFile f = openFiles.remove(fi.fh.get());
        if (f != null) {
            f.instance().metrics().record(FsMetrics.Op.RELEASE, true, 0);
            FsOps.recordFile(f.instance(), f.ino(), FsMetrics.Op.RELEASE, true, 0);
        }
        return 0;
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        OpenFile f = openFiles.get(fi.fh.get());
        if (f == null) {
            return -Errno.EBADF;
        }
        // the image reads straight into libfuse's reply buffer: no Java buffer, no copies (a cached chunk goes
        // from the cache file into it by FileChannel.read)
        ByteBuffer b = MEMORY.newDirectByteBuffer(buf.address(), (int) Math.min(size, Integer.MAX_VALUE));
        return ops.read(f.instance(), f.ino(), offset, b, 0, path);
    }

    @Override
    public int statfs(String path, Statvfs st) {
        ops.awaitStart();
        RafsFileSystem.FsStats s = ops.statfs();
        st.f_bsize.set(FsOps.BLOCK_SIZE);
        st.f_frsize.set(FsOps.BLOCK_SIZE);
        st.f_blocks.set(s.totalBlocks());
        st.f_bfree.set(0);
        st.f_bavail.set(0);
        st.f_files.set(s.inodes());
        st.f_ffree.set(0);
        st.f_favail.set(0);
        st.f_namemax.set(255);
        return 0;
    }

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        ops.awaitStart();
        if (!ops.serveXattrs()) {
            return -Errno.ENOSYS;
        }
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            rc = copyOut(ops.getxattr(t, name), value, size);
        } catch (Exception e) {
            rc = ops.errno(e, "getxattr", path);
        }
        FsOps.record(t, FsMetrics.Op.GETXATTR, rc >= 0, t0);
        return rc;
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        ops.awaitStart();
        if (!ops.serveXattrs()) {
            return -Errno.ENOSYS;
        }
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            rc = copyOut(ops.listxattr(t), list, size);
        } catch (Exception e) {
            rc = ops.errno(e, "listxattr", path);
        }
        FsOps.record(t, FsMetrics.Op.LISTXATTR, rc >= 0, t0);
        return rc;
    }

    private static int copyOut(byte[] bytes, Pointer dst, long size) {
        int rc = FsOps.xattrReply(bytes.length, size);
        if (rc > 0 && size > 0) {
            dst.put(0, bytes, 0, rc);
        }
        return rc;
    }

    @Override
    public int access(String path, int mask) {
        ops.awaitStart();
        try {
            ops.resolvePath(path);
            return FsOps.access(mask);
        } catch (Exception e) {
            return ops.errno(e, "access", path);
        }
    }

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        ops.awaitStart();
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.resolvePath(path);
            rc = t instanceof FsOps.Inode in && !in.attr().isDirectory() ? -Errno.ENOTDIR : 0;
        } catch (Exception e) {
            rc = ops.errno(e, "opendir", path);
        }
        FsOps.record(t, FsMetrics.Op.OPENDIR, rc == 0, t0);
        return rc;
    }

    // No write operation is registered with libfuse: the mount is read-only ("ro", MS_RDONLY), so the kernel answers
    // EROFS for every write, create, unlink, rename, chmod, setxattr, ... before a request reaches FUSE; and each
    // registered operation is a native closure class jnr-ffi generates at start-up (about half of them were writes).
}
