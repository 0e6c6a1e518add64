package dev.nydus4j.fuse;

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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves a {@link RafsFileSystem} read-only through libfuse2's path API (jnr-fuse). Every write operation answers
 * EROFS. Errors are mapped to errno here, once: missing → ENOENT, everything else from the image or the storage
 * → EIO (logged). Thread-safe: FUSE worker threads call in concurrently.
 */
public final class RafsFuse extends FuseStubFS {
    private static final Logger LOG = LoggerFactory.getLogger(RafsFuse.class);
    private static final int O_ACCMODE = 3;
    private static final int W_OK = 2;
    /** keep_cache is bit 1 of the bitfield word at offset 20 of struct fuse_file_info (libfuse2, x86_64). */
    private static final int FFI_BITFIELD_OFFSET = 20;
    private static final int KEEP_CACHE_BIT = 2;

    private final RafsFileSystem fs;
    private final boolean serveXattrs;
    private final ThreadLocal<ByteBuffer> readBuffers = ThreadLocal.withInitial(() -> ByteBuffer.allocate(1 << 20));
    private final AtomicLong readErrors = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();

    public RafsFuse(RafsFileSystem fs, boolean serveXattrs) {
        this.fs = java.util.Objects.requireNonNull(fs, "fs is null");
        this.serveXattrs = serveXattrs;
    }

    /** Bytes served to readers so far. */
    public long bytesRead() {
        return bytesRead.get();
    }

    /** Failed read requests so far. */
    public long readErrors() {
        return readErrors.get();
    }

    @Override
    public int getattr(String path, FileStat stat) {
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            fill(a.get(), stat);
            return 0;
        } catch (Exception e) {
            return errno(e, "getattr", path);
        }
    }

    private static void fill(InodeAttributes a, FileStat stat) {
        stat.st_mode.set(a.mode());
        stat.st_ino.set(a.ino());
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
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            if (!a.get().isDirectory()) {
                return -ErrorCodes.ENOTDIR();
            }
            List<DirEntry> entries = fs.readdir(a.get().ino());
            for (DirEntry e : entries) {
                if (filler.apply(buf, e.name(), null, 0) != 0) {
                    break;
                }
            }
            return 0;
        } catch (Exception e) {
            return errno(e, "readdir", path);
        }
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            if (!a.get().isSymlink()) {
                return -ErrorCodes.EINVAL();
            }
            byte[] target = fs.readlink(a.get().ino());
            if (size <= 0) {
                return 0;
            }
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        } catch (Exception e) {
            return errno(e, "readlink", path);
        }
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        try {
            if ((fi.flags.get() & O_ACCMODE) != 0) {
                return -ErrorCodes.EROFS();
            }
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            if (a.get().isDirectory()) {
                return -ErrorCodes.EISDIR();
            }
            fi.fh.set(a.get().ino());
            // the image never changes: let the kernel keep its page cache across opens
            Pointer mem = Struct.getMemory(fi);
            mem.putInt(FFI_BITFIELD_OFFSET, mem.getInt(FFI_BITFIELD_OFFSET) | KEEP_CACHE_BIT);
            return 0;
        } catch (Exception e) {
            return errno(e, "open", path);
        }
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        try {
            long ino = fi.fh.get();
            if (ino == 0) {
                Optional<InodeAttributes> a = fs.resolve(path);
                if (a.isEmpty()) {
                    return -ErrorCodes.ENOENT();
                }
                ino = a.get().ino();
            }
            int want = (int) Math.min(size, Integer.MAX_VALUE);
            ByteBuffer b = readBuffers.get();
            if (b.capacity() < want) {
                b = ByteBuffer.allocate(want);
                readBuffers.set(b);
            }
            b.clear().limit(want);
            int n = fs.read(ino, offset, b);
            if (n > 0) {
                buf.put(0, b.array(), 0, n);
                bytesRead.addAndGet(n);
            }
            return n;
        } catch (Exception e) {
            readErrors.incrementAndGet();
            return errno(e, "read", path);
        }
    }

    @Override
    public int statfs(String path, Statvfs st) {
        RafsFileSystem.FsStats s = fs.stats();
        st.f_bsize.set(s.blockSize());
        st.f_frsize.set(s.blockSize());
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
        if (!serveXattrs) {
            return -ErrorCodes.ENOSYS();
        }
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            Optional<byte[]> v = fs.getxattr(a.get().ino(), name);
            if (v.isEmpty()) {
                return -ErrorCodes.ENODATA();
            }
            byte[] bytes = v.get();
            if (size == 0) {
                return bytes.length;
            }
            if (size < bytes.length) {
                return -ErrorCodes.ERANGE();
            }
            value.put(0, bytes, 0, bytes.length);
            return bytes.length;
        } catch (Exception e) {
            return errno(e, "getxattr", path);
        }
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        if (!serveXattrs) {
            return -ErrorCodes.ENOSYS();
        }
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (String n : fs.listxattr(a.get().ino())) {
                out.writeBytes(n.getBytes(StandardCharsets.UTF_8));
                out.write(0);
            }
            byte[] bytes = out.toByteArray();
            if (size == 0) {
                return bytes.length;
            }
            if (size < bytes.length) {
                return -ErrorCodes.ERANGE();
            }
            list.put(0, bytes, 0, bytes.length);
            return bytes.length;
        } catch (Exception e) {
            return errno(e, "listxattr", path);
        }
    }

    @Override
    public int access(String path, int mask) {
        try {
            if (fs.resolve(path).isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            return (mask & W_OK) != 0 ? -ErrorCodes.EROFS() : 0;
        } catch (Exception e) {
            return errno(e, "access", path);
        }
    }

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        try {
            Optional<InodeAttributes> a = fs.resolve(path);
            if (a.isEmpty()) {
                return -ErrorCodes.ENOENT();
            }
            return a.get().type() == FileType.DIRECTORY ? 0 : -ErrorCodes.ENOTDIR();
        } catch (Exception e) {
            return errno(e, "opendir", path);
        }
    }

    // ---- the image is read-only ----

    @Override
    public int mknod(String path, long mode, long rdev) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int mkdir(String path, long mode) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int unlink(String path) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int rmdir(String path) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int symlink(String oldpath, String newpath) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int link(String oldpath, String newpath) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int chmod(String path, long mode) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int chown(String path, long uid, long gid) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int truncate(String path, long size) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int removexattr(String path, String name) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return -ErrorCodes.EROFS();
    }

    @Override
    public int fallocate(String path, int mode, long off, long length, FuseFileInfo fi) {
        return -ErrorCodes.EROFS();
    }

    private int errno(Exception e, String op, String path) {
        if (e instanceof FileNotFoundException) {
            return -ErrorCodes.ENOENT();
        }
        if (e instanceof IOException) {
            LOG.warn("{} {} failed: {}", op, path, e.getMessage());
            LOG.debug("{} {} failed", op, path, e);
            return -ErrorCodes.EIO();
        }
        LOG.error("{} {} failed unexpectedly", op, path, e);
        return -ErrorCodes.EIO();
    }
}
