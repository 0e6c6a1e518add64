package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * FUSE_INIT: {@code struct fuse_init_in} (major, minor, max_readahead, flags u32 each, then flags2 and reserved
 * words) and {@code struct fuse_init_out} (64 bytes), which negotiates what the kernel may do. The flags asked for,
 * each only when the kernel offers it:
 * <ul>
 *   <li>ASYNC_READ: several READs of one file in flight (readahead keeps the workers busy);</li>
 *   <li>MAX_PAGES with max_pages 256: 1 MiB READs instead of libfuse2's 128 KiB cap;</li>
 *   <li>DO_READDIRPLUS + READDIRPLUS_AUTO: a listing brings the attributes along, no LOOKUP per entry of
 *       {@code ls -l};</li>
 *   <li>CACHE_SYMLINKS: readlink answers are kept in the page cache (the image never changes);</li>
 *   <li>PARALLEL_DIROPS: lookups and listings of one directory are not serialised by the kernel;</li>
 *   <li>POSIX_ACL: the kernel asks for an inode's ACL once and keeps it ({@code ls -l} reads
 *       system.posix_acl_access of every entry: one round trip per entry less on a warm {@code ls -lR}), and checks
 *       it with the mode bits (default_permissions), as for EROFS;</li>
 *   <li>NO_OPEN_SUPPORT / NO_OPENDIR_SUPPORT are the kernel's to offer, not ours to ask: answering OPEN and
 *       OPENDIR with ENOSYS once switches them off for good, with FOPEN_KEEP_CACHE (and FOPEN_CACHE_DIR) as the
 *       default of every open.</li>
 * </ul>
 * We reply with protocol 7.31 at most: everything above is from 7.28 or earlier and we use no later structure.
 */
final class FuseInit {
    static final int KERNEL_VERSION = 7;
    static final int MAX_MINOR = 31;
    static final int ASYNC_READ = 1;
    static final int DO_READDIRPLUS = 1 << 13;
    static final int READDIRPLUS_AUTO = 1 << 14;
    static final int PARALLEL_DIROPS = 1 << 18;
    static final int POSIX_ACL = 1 << 20;
    static final int MAX_PAGES = 1 << 22;
    static final int CACHE_SYMLINKS = 1 << 23;
    static final int WANTED = ASYNC_READ | DO_READDIRPLUS | READDIRPLUS_AUTO | PARALLEL_DIROPS | POSIX_ACL
            | MAX_PAGES | CACHE_SYMLINKS;
    /** 1 MiB READs: the kernel's limit here ({@code /proc/sys/fs/fuse/max_pages_limit} is 256). */
    static final int MAX_PAGES_COUNT = 256;
    /**
     * A read-only file system gets no WRITE, yet this is not the kernel's 4 KiB minimum: kernels with FUSE large
     * folios (posted to linux-fsdevel in August 2025: "fuse: enable large folios (if writeback cache is unused)")
     * cache a file in folios of up to min(max_write, max_read, max_pages) pages, and 4 KiB would keep every cached
     * page separate (kernel EROFS copies warm data from large folios about 2.5x faster here). This machine's 6.18
     * still caches FUSE files in single pages (checked through /proc/kpageflags). The price is a request buffer of
     * this size per FUSE worker ({@link KernelSession}: the kernel refuses smaller reads of /dev/fuse), malloc'ed and
     * not resident beyond the small requests written into it.
     */
    static final int MAX_WRITE = MAX_PAGES_COUNT * 4096;
    static final int OUT_SIZE = 64;

    private FuseInit() {
    }

    /**
     * What FUSE_INIT settled for a session: kept so that a daemon taking the session over (live upgrade, failover)
     * serves it as negotiated, since the kernel sends no second FUSE_INIT.
     *
     * @param minor        protocol minor version answered
     * @param flags        flags granted
     * @param maxReadahead readahead answered
     * @param maxPages     pages per request answered
     * @param maxWrite     max_write answered: the kernel refuses reads of /dev/fuse into buffers too small for it
     */
    record Negotiated(int minor, int flags, int maxReadahead, int maxPages, int maxWrite) {
        Negotiated {
            if (minor < 0 || maxPages < 0 || maxPages > MAX_PAGES_COUNT || maxWrite < 4096) {
                throw new IllegalArgumentException("invalid FUSE init parameters: minor " + minor + ", max_pages "
                        + maxPages + " (at most " + MAX_PAGES_COUNT + "), max_write " + maxWrite + " (at least 4096)");
            }
        }
    }

    static int major(ByteBuffer in) {
        return in.getInt(FuseInHeader.SIZE);
    }

    static int minor(ByteBuffer in) {
        return in.getInt(FuseInHeader.SIZE + 4);
    }

    static int maxReadahead(ByteBuffer in) {
        return in.getInt(FuseInHeader.SIZE + 8);
    }

    static int flags(ByteBuffer in) {
        return in.getInt(FuseInHeader.SIZE + 12);
    }

    /**
     * Writes fuse_init_out after the out header.
     *
     * @return the flags granted
     */
    static int putOut(ByteBuffer out, int kernelMinor, int maxReadahead, int kernelFlags) {
        int o = FuseOutHeader.SIZE;
        int flags = kernelFlags & WANTED;
        for (int i = 0; i < OUT_SIZE; i += 4) {
            out.putInt(o + i, 0);
        }
        out.putInt(o, KERNEL_VERSION);
        out.putInt(o + 4, Math.min(kernelMinor, MAX_MINOR));
        out.putInt(o + 8, maxReadahead);
        out.putInt(o + 12, flags);
        out.putShort(o + 16, (short) 0); // max_background: kernel default
        out.putShort(o + 18, (short) 0); // congestion_threshold: kernel default
        out.putInt(o + 20, MAX_WRITE);
        out.putInt(o + 24, 1); // time_gran: nanoseconds
        out.putShort(o + 28, (short) MAX_PAGES_COUNT);
        return flags;
    }
}
