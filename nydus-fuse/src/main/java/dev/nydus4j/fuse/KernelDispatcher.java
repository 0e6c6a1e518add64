package dev.nydus4j.fuse;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Answers one FUSE request of the kernel engine: decodes the request structure after the {@link FuseInHeader},
 * runs the {@link FsOps} operation and encodes the reply into the worker's reply buffer. Node ids are
 * {@link MountTable#nodeId}'s: derived from the inode, never allocated, so FORGET has nothing to release.
 * Thread-safe: every worker calls it with its own buffers.
 */
final class KernelDispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(KernelDispatcher.class);
    /** Entry, attribute and negative-entry validity: the images never change; mounts and umounts invalidate. */
    static final long VALID_SECS = 86_400;
    /** Negative names in the pseudo root remembered for invalidation when an image is mounted at "/". */
    private static final int MAX_ROOT_NEGATIVES = 4096;
    private static final int GETXATTR_IN = 8;

    private final FsOps ops;
    private final Set<String> rootNegatives = ConcurrentHashMap.newKeySet();
    private final Listings listings = new Listings();
    private volatile boolean noOpenLogged;
    /** What FUSE_INIT settled (or what a taken-over session had settled), null before. */
    private volatile FuseInit.Negotiated negotiated;

    KernelDispatcher(FsOps ops) {
        this.ops = ops;
    }

    FuseInit.Negotiated negotiated() {
        return negotiated;
    }

    /** A taken-over session: the kernel negotiated with the previous daemon and sends no FUSE_INIT again. */
    void restore(FuseInit.Negotiated n, List<String> negatives) {
        negotiated = n;
        rootNegatives.addAll(negatives);
    }

    /** The negative names cached in the pseudo root, for a daemon that takes the session over. */
    List<String> rootNegatives() {
        return List.copyOf(rootNegatives);
    }

    /** Takes the negative names cached in the pseudo root (they must be invalidated when "/" gets an image). */
    List<String> takeRootNegatives() {
        List<String> names = List.copyOf(rootNegatives);
        rootNegatives.removeAll(names);
        return names;
    }

    /**
     * Handles the request in {@code in} (whole, {@code len} bytes).
     *
     * @param data a view of {@code out} from byte {@link FuseOutHeader#SIZE} on, for READ data
     * @return the reply's length in {@code out}, or 0 when the request gets no reply
     */
    int handle(ByteBuffer in, int len, ByteBuffer out, ByteBuffer data) {
        int opcode = FuseInHeader.opcode(in);
        long unique = FuseInHeader.unique(in);
        long nodeId = FuseInHeader.nodeId(in);
        switch (opcode) {
            case FuseOpcode.INIT:
                return init(in, out, unique);
            case FuseOpcode.FORGET, FuseOpcode.BATCH_FORGET, FuseOpcode.INTERRUPT:
                return 0; // no reply; node ids hold nothing; a read in progress simply finishes
            case FuseOpcode.RELEASE:
                release(nodeId);
                return reply(out, unique, 0);
            case FuseOpcode.DESTROY, FuseOpcode.RELEASEDIR:
                return reply(out, unique, 0);
            default:
                break;
        }
        ops.awaitStart();
        try {
            return switch (opcode) {
                case FuseOpcode.LOOKUP -> lookup(nodeId, FuseInHeader.name(in, FuseInHeader.SIZE, len), out, unique);
                case FuseOpcode.GETATTR -> getattr(nodeId, out, unique);
                case FuseOpcode.READ -> read(nodeId, in, out, data, unique);
                case FuseOpcode.READDIR -> readdir(nodeId, in, out, unique, false);
                case FuseOpcode.READDIRPLUS -> readdir(nodeId, in, out, unique, true);
                case FuseOpcode.READLINK -> readlink(nodeId, out, unique);
                case FuseOpcode.OPEN -> ops.countsOpens() ? open(nodeId, out, unique) : noOpen(out, unique);
                case FuseOpcode.OPENDIR -> noOpen(out, unique);
                case FuseOpcode.STATFS -> statfs(out, unique);
                case FuseOpcode.GETXATTR, FuseOpcode.LISTXATTR -> xattr(opcode, nodeId, in, len, out, unique);
                case FuseOpcode.ACCESS -> access(nodeId, in, out, unique);
                default -> reply(out, unique, -Errno.ENOSYS); // FLUSH (no_flush from now on) and every write op
            };
        } catch (RuntimeException | Error e) {
            return reply(out, unique, ops.errno(new RuntimeException(e), "opcode " + opcode, "node " + nodeId));
        }
    }

    private static int reply(ByteBuffer out, long unique, int error) {
        FuseOutHeader.put(out, FuseOutHeader.SIZE, error, unique);
        return FuseOutHeader.SIZE;
    }

    private static int ok(ByteBuffer out, long unique, int bodyLen) {
        FuseOutHeader.put(out, FuseOutHeader.SIZE + bodyLen, 0, unique);
        return FuseOutHeader.SIZE + bodyLen;
    }

    private int init(ByteBuffer in, ByteBuffer out, long unique) {
        int major = FuseInit.major(in);
        int minor = FuseInit.minor(in);
        if (major != FuseInit.KERNEL_VERSION) {
            LOG.error("the kernel speaks FUSE {}.{}, this daemon 7.x only", major, minor);
            return reply(out, unique, -Errno.EINVAL);
        }
        int granted = FuseInit.putOut(out, minor, FuseInit.maxReadahead(in), FuseInit.flags(in));
        negotiated = new FuseInit.Negotiated(Math.min(minor, FuseInit.MAX_MINOR), granted, FuseInit.maxReadahead(in),
                FuseInit.MAX_PAGES_COUNT, FuseInit.MAX_WRITE);
        LOG.debug("FUSE_INIT: kernel 7.{} flags {}, granted {}", minor, Integer.toHexString(FuseInit.flags(in)),
                Integer.toHexString(granted));
        return ok(out, unique, FuseInit.OUT_SIZE);
    }

    private int lookup(long parent, String name, ByteBuffer out, long unique) {
        long t0 = System.nanoTime();
        FsOps.Target p = null;
        FsOps.Target t = null;
        int rc;
        try {
            p = ops.node(parent);
            t = ops.lookup(p, name);
            FuseEntryOut.put(out, FuseOutHeader.SIZE, ops.nodeId(t), VALID_SECS, ops.stat(t));
            if (t instanceof FsOps.Inode in) { // the kernel's getattr of a new name: LOOKUP brings the attributes
                FsOps.recordFile(in.instance(), in.attr().ino(), FsMetrics.Op.LOOKUP, true, 0);
            }
            rc = 0;
        } catch (FsOps.ErrnoException e) {
            rc = -e.errno;
        } catch (Exception e) {
            rc = ops.errno(e, "lookup", name + " in node " + parent);
        }
        FsOps.record(t != null ? t : p, FsMetrics.Op.LOOKUP, rc == 0 || rc == -Errno.ENOENT, t0);
        if (rc == -Errno.ENOENT && p != null) {
            // a negative entry, cached as long as the positive ones (NOTIFY_INVAL_ENTRY drops it when a sub-image
            // appears under that name); the pseudo root's names are remembered for a later image at "/"
            long valid = VALID_SECS;
            if (parent == MountTable.ROOT_INO && p instanceof FsOps.Dir) {
                valid = rootNegatives.size() < MAX_ROOT_NEGATIVES || rootNegatives.contains(name) ? VALID_SECS : 0;
                if (valid != 0) {
                    rootNegatives.add(name);
                }
            }
            FuseEntryOut.put(out, FuseOutHeader.SIZE, 0, valid, null);
            return ok(out, unique, FuseEntryOut.SIZE);
        }
        return rc == 0 ? ok(out, unique, FuseEntryOut.SIZE) : reply(out, unique, rc);
    }

    private int getattr(long nodeId, ByteBuffer out, long unique) {
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.node(nodeId);
            FuseEntryOut.putAttrOut(out, FuseOutHeader.SIZE, VALID_SECS, ops.getattr(t));
            rc = 0;
        } catch (Exception e) {
            rc = ops.errno(e, "getattr", "node " + nodeId);
        }
        FsOps.record(t, FsMetrics.Op.GETATTR, rc == 0, t0);
        return rc == 0 ? ok(out, unique, FuseEntryOut.ATTR_OUT_SIZE) : reply(out, unique, rc);
    }

    /** fuse_read_in: fh u64, offset u64, size u32, read_flags u32, lock_owner u64, flags u32, padding u32. */
    private int read(long nodeId, ByteBuffer in, ByteBuffer out, ByteBuffer data, long unique) {
        long offset = in.getLong(FuseInHeader.SIZE + 8);
        int size = in.getInt(FuseInHeader.SIZE + 16);
        FsOps.ImageNode node;
        try {
            node = ops.imageNode(nodeId);
        } catch (FsOps.ErrnoException e) {
            return reply(out, unique, -e.errno);
        }
        if (node == null || nodeId == MountTable.ROOT_INO) {
            return reply(out, unique, -Errno.EISDIR);
        }
        data.clear();
        data.limit(Math.min(size, data.capacity()));
        // zero-copy: the image reads straight into the reply buffer after the out header
        int n = ops.read(node.instance(), node.ino(), offset, data, unique, null);
        return n < 0 ? reply(out, unique, n) : ok(out, unique, n);
    }

    private int readdir(long nodeId, ByteBuffer in, ByteBuffer out, long unique, boolean plus) {
        long t0 = System.nanoTime();
        long offset = in.getLong(FuseInHeader.SIZE + 8);
        int size = Math.min(in.getInt(FuseInHeader.SIZE + 16), out.capacity() - FuseOutHeader.SIZE);
        FsOps.Target t = null;
        int rc;
        int o = FuseOutHeader.SIZE;
        try {
            t = ops.node(nodeId);
            List<FsOps.Entry> entries = listings.get(nodeId, t, offset == 0, ops);
            for (long i = offset; i < entries.size(); i++) {
                FsOps.Entry e = entries.get((int) i);
                if (o - FuseOutHeader.SIZE + FuseDirent.size(e.name().length, plus) > size) {
                    break;
                }
                if (plus) {
                    plusEntry(out, o, t, e);
                    o += FuseEntryOut.SIZE;
                }
                o = FuseDirent.put(out, o, e.ino(), i + 1, e.direntType(), e.name());
            }
            rc = 0;
        } catch (Exception e) {
            rc = ops.errno(e, plus ? "readdirplus" : "readdir", "node " + nodeId);
        }
        FsOps.record(t, plus ? FsMetrics.Op.READDIRPLUS : FsMetrics.Op.READDIR, rc == 0, t0);
        return rc == 0 ? ok(out, unique, o - FuseOutHeader.SIZE) : reply(out, unique, rc);
    }

    /** The entry_out of a READDIRPLUS entry: "." and ".." (ignored by the kernel) and failures get node id 0. */
    private void plusEntry(ByteBuffer out, int o, FsOps.Target dir, FsOps.Entry e) {
        if (!e.isDotOrDotDot()) {
            try {
                FsOps.Target c = dir instanceof FsOps.Inode in
                        ? new FsOps.Inode(in.instance(), in.instance().image().getattr(e.imageIno()))
                        : ops.lookup(dir, new String(e.name(), java.nio.charset.StandardCharsets.UTF_8));
                FuseEntryOut.put(out, o, ops.nodeId(c), VALID_SECS, ops.stat(c));
                return;
            } catch (Exception ex) {
                // the kernel looks the name up itself later (and that answer carries the error)
                LOG.debug("readdirplus: no attributes for an entry: {}", ex.toString());
            }
        }
        FuseEntryOut.put(out, o, 0, 0, null);
    }

    private int readlink(long nodeId, ByteBuffer out, long unique) {
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        byte[] target = null;
        try {
            t = ops.node(nodeId);
            target = ops.readlink(t);
            rc = 0;
        } catch (Exception e) {
            rc = ops.errno(e, "readlink", "node " + nodeId);
        }
        FsOps.record(t, FsMetrics.Op.READLINK, rc == 0, t0);
        if (rc != 0) {
            return reply(out, unique, rc);
        }
        int n = Math.min(target.length, out.capacity() - FuseOutHeader.SIZE);
        out.put(FuseOutHeader.SIZE, target, 0, n);
        return ok(out, unique, n);
    }

    /**
     * OPEN while per-file metrics are kept ({@link FsOps#countsOpens}): answered, so that opens are counted as
     * upstream's nydusd counts them ({@code nr_opens}, the per-file open records), at one round trip per open.
     */
    private int open(long nodeId, ByteBuffer out, long unique) {
        long t0 = System.nanoTime();
        FsOps.ImageNode node = null;
        int rc;
        try {
            node = ops.imageNode(nodeId);
            rc = node == null ? -Errno.EISDIR : 0; // only the pseudo directories have no image node
        } catch (FsOps.ErrnoException e) {
            rc = -e.errno;
        }
        if (node != null) {
            node.instance().metrics().record(FsMetrics.Op.OPEN, rc == 0, System.nanoTime() - t0);
            FsOps.recordFile(node.instance(), node.ino(), FsMetrics.Op.OPEN, rc == 0, 0);
        }
        if (rc < 0) {
            return reply(out, unique, rc);
        }
        FuseOpenOut.put(out, FuseOutHeader.SIZE);
        return ok(out, unique, FuseOpenOut.SIZE);
    }

    /** RELEASE of a file opened by {@link #open} (never sent after OPEN was answered ENOSYS). */
    private void release(long nodeId) {
        try {
            FsOps.ImageNode node = ops.imageNode(nodeId);
            if (node != null) {
                node.instance().metrics().record(FsMetrics.Op.RELEASE, true, 0);
                FsOps.recordFile(node.instance(), node.ino(), FsMetrics.Op.RELEASE, true, 0);
            }
        } catch (FsOps.ErrnoException e) {
            // the image was unmounted meanwhile: nothing to count
        }
    }

    /**
     * OPEN/OPENDIR: ENOSYS tells the kernel (which offers FUSE_NO_OPEN(DIR)_SUPPORT) to stop sending them, and
     * RELEASE with them; every open then keeps the page cache (FOPEN_KEEP_CACHE, FOPEN_CACHE_DIR). Per-open
     * metrics (nr_opens, OPEN/RELEASE counts) are then no longer kept, so OPEN gets this answer only while no image
     * keeps per-file metrics (see {@link #open}).
     */
    private int noOpen(ByteBuffer out, long unique) {
        if (!noOpenLogged) {
            noOpenLogged = true;
            LOG.debug("answering OPEN/OPENDIR with ENOSYS: the kernel opens without asking from now on");
        }
        return reply(out, unique, -Errno.ENOSYS);
    }

    private int statfs(ByteBuffer out, long unique) {
        FuseStatfsOut.put(out, FuseOutHeader.SIZE, ops.statfs());
        return ok(out, unique, FuseStatfsOut.SIZE);
    }

    /** fuse_getxattr_in: size u32, padding u32, then (GETXATTR) the name; a size-0 probe gets fuse_getxattr_out. */
    private int xattr(int opcode, long nodeId, ByteBuffer in, int len, ByteBuffer out, long unique) {
        boolean get = opcode == FuseOpcode.GETXATTR;
        if (!ops.serveXattrs()) {
            return reply(out, unique, -Errno.ENOSYS);
        }
        long t0 = System.nanoTime();
        int size = in.getInt(FuseInHeader.SIZE);
        FsOps.ImageNode node = null;
        int rc;
        byte[] v = null;
        String name = get ? FuseInHeader.name(in, FuseInHeader.SIZE + GETXATTR_IN, len) : null;
        try {
            // by inode number: ls -l asks security.selinux of every entry, nothing needs the attributes decoded
            node = ops.imageNode(nodeId);
            if (node == null) {
                FsOps.Target dir = ops.node(nodeId);
                v = get ? ops.getxattr(dir, name) : ops.listxattr(dir);
            } else {
                v = get ? ops.getxattr(node.instance(), node.ino(), name) : ops.listxattr(node.instance(), node.ino());
            }
            rc = FsOps.xattrReply(v.length, Integer.toUnsignedLong(size));
        } catch (Exception e) {
            rc = ops.errno(e, get ? "getxattr" : "listxattr", (get ? name + " of " : "") + "node " + nodeId);
        }
        if (node != null) {
            node.instance().metrics().record(get ? FsMetrics.Op.GETXATTR : FsMetrics.Op.LISTXATTR, rc >= 0,
                    System.nanoTime() - t0);
        }
        if (rc < 0) {
            return reply(out, unique, rc);
        }
        if (size == 0) {
            out.putInt(FuseOutHeader.SIZE, rc);
            out.putInt(FuseOutHeader.SIZE + 4, 0);
            return ok(out, unique, 8);
        }
        out.put(FuseOutHeader.SIZE, v, 0, rc);
        return ok(out, unique, rc);
    }

    /** fuse_access_in: mask u32, padding u32 (sent only without default_permissions). */
    private int access(long nodeId, ByteBuffer in, ByteBuffer out, long unique) {
        long t0 = System.nanoTime();
        FsOps.Target t = null;
        int rc;
        try {
            t = ops.node(nodeId);
            rc = FsOps.access(in.getInt(FuseInHeader.SIZE));
        } catch (Exception e) {
            rc = ops.errno(e, "access", "node " + nodeId);
        }
        FsOps.record(t, FsMetrics.Op.ACCESS, rc == 0, t0);
        return reply(out, unique, rc);
    }

    /**
     * The last listings served, so that the READDIR(PLUS) requests continuing a large directory (the kernel asks
     * for one buffer at a time) do not list it again each time; a listing from offset 0 is always fresh.
     */
    private static final class Listings {
        private static final int SLOTS = 16;
        private final Listing[] slots = new Listing[SLOTS];

        private record Listing(long nodeId, FsOps.Target target, List<FsOps.Entry> entries) {
        }

        List<FsOps.Entry> get(long nodeId, FsOps.Target t, boolean fresh, FsOps ops) throws Exception {
            int slot = (int) (Long.hashCode(nodeId) & (SLOTS - 1));
            Listing l = slots[slot]; // a racy read of an immutable record: at worst a listing is made again
            if (!fresh && l != null && l.nodeId() == nodeId && sameDir(l.target(), t)) {
                return l.entries();
            }
            List<FsOps.Entry> entries = ops.list(t);
            slots[slot] = new Listing(nodeId, t, entries);
            return entries;
        }

        private static boolean sameDir(FsOps.Target a, FsOps.Target b) {
            if (a instanceof FsOps.Inode x && b instanceof FsOps.Inode y) {
                return x.instance() == y.instance();
            }
            return a instanceof FsOps.Dir x && b instanceof FsOps.Dir y && x.pseudo().equals(y.pseudo());
        }
    }
}
