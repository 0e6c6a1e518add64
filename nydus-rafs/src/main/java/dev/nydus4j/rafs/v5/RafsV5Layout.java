package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.DigestAlgorithm;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plans a v5 bootstrap the way upstream lays it out (RAFS spec 5.1, 5.6, 5.8; checked against the upstream
 * fixture {@code repeatable/sha256-nocompress-repeatable}, which the writer reproduces byte for byte):
 * <ul>
 *   <li>inode indexes: root 1; every directory gets all its children (sorted by name bytes) as one consecutive
 *       index range, then its subdirectories are handled in order, depth first; an empty directory stores the
 *       next free index as {@code i_child_index};</li>
 *   <li>i_ino = index of the first name of an inode (index order); later hard-link names repeat it;</li>
 *   <li>records in index order, right after the extended blob table;</li>
 *   <li>directory i_size = align_up(sum(name_len + 8), 4096), 4096 when empty; nlink = 2 + subdirectories;
 *       others nlink = number of names; i_blocks = ceil((i_size + aligned xattr pairs) / 512);</li>
 *   <li>digests bottom-up: files hash their chunk digests, symlinks their target, directories their children's
 *       digests in child order, others the empty message.</li>
 * </ul>
 * Single use, not thread-safe.
 */
final class RafsV5Layout {
    private static final int MAX_NAME = 255;
    private static final int MAX_SYMLINK = 0xFFFF;
    private static final long VIRTUAL_ENTRY_SIZE = 8;

    final List<RafsV5InodePlan> plans = new ArrayList<>();
    /** Number of distinct non-root inodes (upstream's inodes_count). */
    long distinctInodes;
    boolean hasXattr;
    private final RafsTree tree;

    private RafsV5Layout(RafsTree tree) {
        this.tree = tree;
    }

    /** Plans {@code tree} (indexes, inodes, digests); {@link #assignOffsets} places the records. */
    static RafsV5Layout plan(RafsTree tree) {
        RafsV5Layout l = new RafsV5Layout(tree);
        l.assignIndexes();
        l.assignInodes();
        l.computeDigests(tree.digester);
        return l;
    }

    private void assignIndexes() {
        Node root = tree.root;
        if (root == null || !root.inode().isDirectory()) {
            throw new IllegalArgumentException("the tree root must be a directory");
        }
        RafsV5InodePlan rootPlan = new RafsV5InodePlan(root, new byte[]{'/'}, "/", 1);
        plans.add(rootPlan);
        ArrayDeque<RafsV5InodePlan> stack = new ArrayDeque<>();
        stack.push(rootPlan);
        while (!stack.isEmpty()) {
            RafsV5InodePlan dir = stack.pop();
            dir.childIndex = plans.size() + 1L;
            List<RafsV5InodePlan> subdirs = new ArrayList<>();
            for (Node child : dir.node.children()) {
                String path = (dir.path.equals("/") ? "/" : dir.path + "/") + child.nameString();
                checkName(child.name(), path);
                RafsV5InodePlan p = new RafsV5InodePlan(child, child.name(), path, plans.size() + 1);
                plans.add(p);
                dir.childCount++;
                if (child.inode().isDirectory()) {
                    subdirs.add(p);
                }
            }
            // children before grandchildren, subdirectories depth first in name order (a stack: push reversed)
            for (int i = subdirs.size() - 1; i >= 0; i--) {
                stack.push(subdirs.get(i));
            }
        }
        if (plans.size() >= (1 << 29)) {
            throw new IllegalArgumentException("the tree has " + plans.size() + " entries; too many for RAFS v5");
        }
    }

    private static void checkName(byte[] name, String path) {
        if (name.length == 0 || name.length > MAX_NAME) {
            throw new IllegalArgumentException("'" + path + "': name of " + name.length + " bytes; RAFS v5 names are 1.."
                    + MAX_NAME + " bytes");
        }
        if ((name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.')) {
            throw new IllegalArgumentException("'" + path + "': '.' and '..' cannot be stored as names");
        }
        for (byte c : name) {
            if (c == 0 || c == '/') {
                throw new IllegalArgumentException("'" + path + "': name contains " + (c == 0 ? "NUL" : "'/'"));
            }
        }
    }

    private void assignInodes() {
        Map<Inode, RafsV5InodePlan> first = new IdentityHashMap<>();
        Map<Inode, Integer> names = new IdentityHashMap<>();
        for (RafsV5InodePlan p : plans) {
            names.merge(p.inode, 1, Integer::sum);
        }
        // parents come before children in index order, so parent inos are known when a child is planned
        long[] inoByIndex = new long[plans.size() + 1];
        for (RafsV5InodePlan p : plans) {
            RafsV5InodePlan prev = first.putIfAbsent(p.inode, p);
            if (prev != null && p.inode.isDirectory()) {
                throw new IllegalArgumentException("'" + p.path + "': directory is also reachable as '" + prev.path
                        + "'; directories cannot be hard links");
            }
            p.ino = prev == null ? p.index : prev.ino;
            inoByIndex[p.index] = p.ino;
            if (p.inode.isDirectory()) {
                for (long i = p.childIndex; i < p.childIndex + p.childCount; i++) {
                    plans.get((int) i - 1).parentIno = p.ino;
                }
            }
            if (prev == null && p.index != 1) {
                distinctInodes++;
            }
            plan(p, names.get(p.inode));
        }
    }

    private void plan(RafsV5InodePlan p, int nameCount) {
        Inode in = p.inode;
        FileType type = in.type();
        if (type == null) {
            throw new IllegalArgumentException(String.format("'%s': unknown file type in mode 0%o", p.path, in.mode));
        }
        if (in.mtimeNsec < 0 || in.mtimeNsec >= 1_000_000_000) {
            throw new IllegalArgumentException("'" + p.path + "': mtime nanoseconds " + in.mtimeNsec + " outside [0, 10^9)");
        }
        RafsV5XattrTable.checkWritable(in.xattrs, p.path);
        long xattrAligned = in.xattrs.isEmpty() ? 0 : (RafsV5XattrTable.pairsSize(in.xattrs) + 7) & ~7L;
        if (!in.xattrs.isEmpty()) {
            p.flags |= RafsV5InodeRecord.FLAG_XATTR;
            hasXattr = true;
        }
        switch (type) {
            case DIRECTORY -> {
                long sum = 0;
                long subdirs = 0;
                for (Node c : p.node.children()) {
                    sum += c.name().length + VIRTUAL_ENTRY_SIZE;
                    if (c.inode().isDirectory()) {
                        subdirs++;
                    }
                }
                p.size = sum == 0 ? 4096 : (sum + 4095) & ~4095L;
                p.nlink = 2 + subdirs;
            }
            case SYMLINK -> {
                byte[] t = in.symlinkTarget;
                if (t == null || t.length == 0 || t.length > MAX_SYMLINK) {
                    throw new IllegalArgumentException("'" + p.path + "': symlink target of "
                            + (t == null ? 0 : t.length) + " bytes; RAFS v5 stores 1.." + MAX_SYMLINK);
                }
                p.size = t.length;
                p.flags |= RafsV5InodeRecord.FLAG_SYMLINK;
                p.nlink = nameCount;
            }
            case REGULAR -> {
                p.size = in.size;
                p.childIndex = 0;
                p.childCount = in.chunks.size();
                for (ChunkRef c : in.chunks) {
                    if (c.blobIndex() < 0 || c.blobIndex() >= tree.blobs.size()) {
                        throw new IllegalArgumentException("'" + p.path + "': chunk at file offset " + c.fileOffset()
                                + " refers to blob index " + c.blobIndex() + ", but the tree has " + tree.blobs.size()
                                + " blobs");
                    }
                }
                if (!denseChunks(in)) {
                    checkHoles(p);
                    p.flags |= RafsV5InodeRecord.FLAG_HAS_HOLE;
                }
                p.nlink = nameCount;
            }
            default -> {
                p.size = 0;
                p.nlink = nameCount;
                if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
                    p.rdev = in.rdev;
                }
            }
        }
        if (type != FileType.DIRECTORY && type != FileType.REGULAR) {
            p.childIndex = 0;
            p.childCount = 0;
        }
        p.blocks = (p.size + xattrAligned + 511) / 512;
    }

    /** True when chunk i covers exactly [i * chunk_size, +min(chunk_size, size - offset)) (no HAS_HOLE needed). */
    private boolean denseChunks(Inode in) {
        long cs = tree.chunkSize;
        if (in.chunks.size() != (in.size + cs - 1) / cs) {
            return false;
        }
        for (int i = 0; i < in.chunks.size(); i++) {
            ChunkRef c = in.chunks.get(i);
            long off = i * cs;
            if (c.fileOffset() != off || c.info().uncompressedSize() != Math.min(cs, in.size - off)) {
                return false;
            }
        }
        return true;
    }

    private void checkHoles(RafsV5InodePlan p) {
        long prevEnd = 0;
        for (ChunkRef c : p.inode.chunks) {
            long usize = c.info().uncompressedSize();
            if (usize <= 0 || usize > tree.chunkSize || c.fileOffset() < prevEnd
                    || c.fileOffset() > p.inode.size - usize) {
                throw new IllegalArgumentException("'" + p.path + "': chunk at file offset " + c.fileOffset() + " of "
                        + usize + " bytes does not fit a file of " + p.inode.size + " bytes after offset " + prevEnd
                        + " (chunk size " + tree.chunkSize + ")");
            }
            prevEnd = c.fileOffset() + usize;
        }
    }

    private void computeDigests(DigestAlgorithm digester) {
        // children have higher indexes than their directory: one reverse pass sees every child first
        for (int i = plans.size() - 1; i >= 0; i--) {
            RafsV5InodePlan p = plans.get(i);
            DigestAlgorithm.Hasher h = digester.newHasher();
            switch (p.inode.type()) {
                case REGULAR -> {
                    for (ChunkRef c : p.inode.chunks) {
                        h.update(c.digest(), 0, c.digest().length);
                    }
                }
                case SYMLINK -> h.update(p.inode.symlinkTarget, 0, p.inode.symlinkTarget.length);
                case DIRECTORY -> {
                    for (long c = p.childIndex; c < p.childIndex + p.childCount; c++) {
                        byte[] d = plans.get((int) c - 1).digest;
                        h.update(d, 0, d.length);
                    }
                }
                default -> {
                }
            }
            p.digest = h.finish();
        }
    }

    /** Places the records one after the other from {@code start} (8-aligned), in index order. */
    void assignOffsets(long start) {
        long pos = start;
        for (RafsV5InodePlan p : plans) {
            Inode in = p.inode;
            long len = RafsV5InodeRecord.SIZE + align8(p.name.length);
            if (in.type() == FileType.SYMLINK) {
                len += align8(in.symlinkTarget.length);
            }
            len += RafsV5XattrTable.encodedSize(in.xattrs);
            if (in.isRegular()) {
                len += (long) in.chunks.size() * dev.nydus4j.rafs.v6.ChunkRecord.SIZE;
            }
            p.offset = pos;
            p.length = len;
            pos += len;
        }
    }

    /** End of the last record. */
    long end() {
        RafsV5InodePlan last = plans.get(plans.size() - 1);
        return last.offset + last.length;
    }

    static long align8(long v) {
        return (v + 7) & ~7L;
    }

    static String nameOf(byte[] name) {
        return new String(name, StandardCharsets.UTF_8);
    }
}
