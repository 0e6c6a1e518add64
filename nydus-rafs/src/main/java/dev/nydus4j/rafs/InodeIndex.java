package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds the immutable ino → {@link IndexedInode} map of a tree once. Inode numbers are the tree's
 * {@link Inode#ino} when every inode has a distinct non-zero one (trees read from a bootstrap), otherwise they are
 * assigned 1, 2, … in depth-first order with the root at 1 (freshly built trees). Link counts follow the v6
 * writer: directories 2 + subdirectories, other inodes the number of names.
 */
final class InodeIndex {
    static final int BLOCK_SIZE = 4096;
    private static final int DIRENT_SIZE = 12;

    final Map<Long, IndexedInode> inodes;
    final long rootIno;
    final long totalDataBlocks;
    final int maxChunkSize;

    private InodeIndex(Map<Long, IndexedInode> inodes, long rootIno, long totalDataBlocks, int maxChunkSize) {
        this.inodes = inodes;
        this.rootIno = rootIno;
        this.totalDataBlocks = totalDataBlocks;
        this.maxChunkSize = maxChunkSize;
    }

    static InodeIndex build(RafsTree tree, String resource) throws CorruptImageException {
        if (tree.root == null || !tree.root.inode().isDirectory()) {
            throw new CorruptImageException(resource, -1, "tree root is missing or not a directory");
        }
        // pass 1: distinct inodes (identity), name counts, parents, depth-first order
        IdentityHashMap<Inode, Integer> names = new IdentityHashMap<>();
        IdentityHashMap<Inode, Node> dirNode = new IdentityHashMap<>();
        IdentityHashMap<Inode, Inode> parentOf = new IdentityHashMap<>();
        List<Inode> order = new ArrayList<>();
        ArrayList<Node> stack = new ArrayList<>();
        stack.add(tree.root);
        parentOf.put(tree.root.inode(), tree.root.inode());
        while (!stack.isEmpty()) {
            Node n = stack.remove(stack.size() - 1);
            Inode in = n.inode();
            if (names.merge(in, 1, Integer::sum) == 1) {
                order.add(in);
            }
            if (in.isDirectory()) {
                if (dirNode.put(in, n) != null) {
                    throw new CorruptImageException(resource, -1, "directory '" + n.nameString() + "' has several names");
                }
                List<Node> kids = new ArrayList<>(n.children());
                for (int i = kids.size() - 1; i >= 0; i--) {
                    Node k = kids.get(i);
                    if (k.inode().isDirectory()) {
                        parentOf.put(k.inode(), in);
                    }
                    stack.add(k);
                }
            }
        }
        IdentityHashMap<Inode, Long> inoOf = assignInos(order);
        Map<Long, IndexedInode> map = new HashMap<>(order.size() * 2);
        long dataBlocks = 0;
        int maxChunk = 0;
        for (Inode in : order) {
            FileType type = in.type();
            if (type == null) {
                throw new CorruptImageException(resource, -1, String.format("inode %d has unknown mode 0%o", inoOf.get(in), in.mode));
            }
            long ino = inoOf.get(in);
            ChunkRef[] chunks = in.isRegular() ? in.chunks.toArray(new ChunkRef[0]) : new ChunkRef[0];
            for (int i = 0; i < chunks.length; i++) {
                ChunkRef c = chunks[i];
                if (c.blobIndex() < 0 || c.blobIndex() >= tree.blobs.size()) {
                    throw new CorruptImageException(resource, -1,
                            "inode " + ino + " chunk " + i + " names blob " + c.blobIndex() + " of " + tree.blobs.size());
                }
                if (i > 0 && c.fileOffset() < chunks[i - 1].fileOffset() + chunks[i - 1].info().uncompressedSize()) {
                    throw new CorruptImageException(resource, -1, "inode " + ino + " chunks overlap or are unsorted at chunk " + i);
                }
                maxChunk = Math.max(maxChunk, c.info().uncompressedSize());
            }
            List<DirEntry> dirents = List.of();
            byte[][] childNames = new byte[0][];
            long[] childInos = new long[0];
            long size = in.size;
            int nlink = names.get(in);
            long parentIno = ino;
            if (type == FileType.DIRECTORY) {
                Node n = dirNode.get(in);
                List<Node> kids = new ArrayList<>(n.children());
                kids.sort((a, b) -> Arrays.compareUnsigned(a.name(), b.name()));
                childNames = new byte[kids.size()][];
                childInos = new long[kids.size()];
                parentIno = inoOf.get(parentOf.get(in));
                List<DirEntry> all = new ArrayList<>(kids.size() + 2);
                all.add(new DirEntry(".", new byte[]{'.'}, ino, FileType.DIRECTORY));
                all.add(new DirEntry("..", new byte[]{'.', '.'}, parentIno, FileType.DIRECTORY));
                int subdirs = 0;
                for (int i = 0; i < kids.size(); i++) {
                    Node k = kids.get(i);
                    checkName(k.name(), ino, resource);
                    childNames[i] = k.name().clone();
                    childInos[i] = inoOf.get(k.inode());
                    subdirs += k.inode().isDirectory() ? 1 : 0;
                    all.add(new DirEntry(k.nameString(), k.name().clone(), childInos[i], k.inode().type()));
                }
                all.sort((a, b) -> Arrays.compareUnsigned(a.rawName(), b.rawName()));
                dirents = Collections.unmodifiableList(all);
                nlink = 2 + subdirs;
                if (size <= 0) {
                    size = packedDirSize(all);
                }
            } else if (type == FileType.SYMLINK) {
                if (in.symlinkTarget == null || in.symlinkTarget.length == 0) {
                    throw new CorruptImageException(resource, -1, "symlink inode " + ino + " has no target");
                }
                size = in.symlinkTarget.length;
            } else if (type == FileType.REGULAR) {
                dataBlocks += (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
            } else {
                size = 0;
            }
            int rdev = (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) ? in.rdev : 0;
            InodeAttributes attrs = new InodeAttributes(ino, in.mode, nlink, in.uid, in.gid, size, (size + 511) / 512,
                    in.mtimeSec, in.mtimeNsec, rdev);
            TreeMap<String, byte[]> xattrs = new TreeMap<>();
            in.xattrs.forEach((k, v) -> xattrs.put(k, v.clone()));
            byte[] target = in.symlinkTarget == null ? null : in.symlinkTarget.clone();
            map.put(ino, new IndexedInode(attrs, parentIno, target, Collections.unmodifiableSortedMap(xattrs), chunks,
                    dirents, childNames, childInos));
        }
        return new InodeIndex(Collections.unmodifiableMap(map), inoOf.get(tree.root.inode()), dataBlocks, maxChunk);
    }

    /** Names served must be real directory entries: 1..255 bytes, no '/', no NUL, not "." or "..". */
    private static void checkName(byte[] name, long dirIno, String resource) throws CorruptImageException {
        boolean bad = name.length == 0 || name.length > 255 || Arrays.equals(name, new byte[]{'.'})
                || Arrays.equals(name, new byte[]{'.', '.'});
        for (byte b : name) {
            bad |= b == '/' || b == 0;
        }
        if (bad) {
            throw new CorruptImageException(resource, -1, "directory inode " + dirIno + " has an invalid entry name '"
                    + new String(name, StandardCharsets.UTF_8) + "' (expected 1..255 bytes without '/' or NUL, not . or ..)");
        }
    }

    private static IdentityHashMap<Inode, Long> assignInos(List<Inode> order) {
        IdentityHashMap<Inode, Long> inoOf = new IdentityHashMap<>();
        Set<Long> seen = new HashSet<>();
        boolean stored = true;
        for (Inode in : order) {
            if (in.ino <= 0 || !seen.add(in.ino)) {
                stored = false;
                break;
            }
        }
        long next = 1;
        for (Inode in : order) {
            inoOf.put(in, stored ? in.ino : next++);
        }
        return inoOf;
    }

    /** EROFS directory size: dirents + names packed into 4096-byte blocks (spec 3.10). */
    static long packedDirSize(List<DirEntry> sorted) {
        long full = 0;
        int used = 0;
        for (DirEntry e : sorted) {
            int need = DIRENT_SIZE + e.rawName().length;
            if (used + need > BLOCK_SIZE) {
                full++;
                used = 0;
            }
            used += need;
        }
        return full * BLOCK_SIZE + used;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
