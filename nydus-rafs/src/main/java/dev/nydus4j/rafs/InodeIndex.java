package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Builds the immutable ino → {@link IndexedInode} map of a tree once. Inode numbers are the tree's
 * {@link Inode#ino} when every inode has a distinct non-zero one (trees read from a bootstrap), otherwise they are
 * assigned 1, 2, … in depth-first order with the root at 1 (freshly built trees). Link counts follow the v6
 * writer: directories 2 + subdirectories, other inodes the number of names.
 */
final class InodeIndex implements InodeSource {
    static final int BLOCK_SIZE = 4096;
    private static final int DIRENT_SIZE = 12;

    private static final ChunkRef[] NO_CHUNKS = new ChunkRef[0];
    private static final byte[][] NO_NAMES = new byte[0][];
    private static final long[] NO_INOS = new long[0];
    private static final FileType[] NO_TYPES = new FileType[0];
    private static final byte[][] SPECIAL = {{'.'}, {'.', '.'}};

    /** ino → inode; filled before the constructor, read-only after (safely published by the final field). */
    final LongHashMap<IndexedInode> inodes;
    final long rootIno;
    final long totalDataBlocks;
    final int maxChunkSize;

    private InodeIndex(LongHashMap<IndexedInode> inodes, long rootIno, long totalDataBlocks, int maxChunkSize) {
        this.inodes = inodes;
        this.rootIno = rootIno;
        this.totalDataBlocks = totalDataBlocks;
        this.maxChunkSize = maxChunkSize;
    }

    @Override
    public long rootIno() {
        return rootIno;
    }

    @Override
    public IndexedInode get(long ino) {
        return inodes.get(ino);
    }

    @Override
    public int maxChunkSize() {
        return maxChunkSize;
    }

    @Override
    public void collectChunks(List<List<ChunkInfo>> infos, List<List<byte[]>> digests) {
        inodes.forEachValue(f -> {
            for (ChunkRef c : f.chunks) {
                if (c.blobIndex() >= 0 && c.blobIndex() < infos.size()) {
                    infos.get(c.blobIndex()).add(c.info());
                    digests.get(c.blobIndex()).add(c.digest());
                }
            }
        });
    }

    @Override
    public long[] counts() {
        return new long[] {inodes.size(), totalDataBlocks};
    }

    @Override
    public long[] sortedInos() {
        return inodes.sortedKeys();
    }

    /** Pass-1 facts about one distinct inode. */
    private static final class Seen {
        final Inode inode;
        final FileType type;
        int names = 1;
        Node dirNode;
        Seen parent;
        long ino;

        Seen(Inode inode) {
            this.inode = inode;
            this.type = inode.type();
        }
    }

    static InodeIndex build(RafsTree tree, String resource) throws CorruptImageException {
        if (tree.root == null || !tree.root.inode().isDirectory()) {
            throw new CorruptImageException(resource, -1, "tree root is missing or not a directory");
        }
        // pass 1: distinct inodes (identity) in depth-first order, name counts, the parent of each directory
        IdentityHashMap<Inode, Seen> seen = new IdentityHashMap<>();
        List<Seen> order = new ArrayList<>();
        ArrayList<Node> stack = new ArrayList<>();
        ArrayList<Seen> parents = new ArrayList<>();
        stack.add(tree.root);
        parents.add(null);
        while (!stack.isEmpty()) {
            int top = stack.size() - 1;
            Node n = stack.remove(top);
            Seen parent = parents.remove(top);
            Inode in = n.inode();
            Seen s = seen.get(in);
            if (s == null) {
                s = new Seen(in);
                seen.put(in, s);
                order.add(s);
            } else {
                s.names++;
            }
            if (s.type == FileType.DIRECTORY) {
                if (s.dirNode != null) {
                    throw new CorruptImageException(resource, -1, "directory '" + n.nameString() + "' has several names");
                }
                s.dirNode = n;
                s.parent = parent == null ? s : parent;
                List<Node> kids = new ArrayList<>(n.children());
                for (int i = kids.size() - 1; i >= 0; i--) {
                    stack.add(kids.get(i));
                    parents.add(s);
                }
            }
        }
        assignInos(order);
        LongHashMap<IndexedInode> map = new LongHashMap<>(order.size());
        long dataBlocks = 0;
        int maxChunk = 0;
        for (Seen s : order) {
            Inode in = s.inode;
            FileType type = s.type;
            long ino = s.ino;
            if (type == null) {
                throw new CorruptImageException(resource, -1, String.format("inode %d has unknown mode 0%o", ino, in.mode));
            }
            byte[][] childNames = NO_NAMES;
            long[] childInos = NO_INOS;
            FileType[] childTypes = NO_TYPES;
            int nlink = s.names;
            long parentIno = ino;
            if (type == FileType.DIRECTORY) {
                // Node keeps its children in unsigned name-byte order already
                Collection<Node> kids = s.dirNode.children();
                childNames = new byte[kids.size()][];
                childInos = new long[kids.size()];
                childTypes = new FileType[kids.size()];
                parentIno = s.parent.ino;
                int subdirs = 0;
                int i = 0;
                for (Node k : kids) {
                    checkName(k.name(), ino, resource);
                    Seen ks = seen.get(k.inode());
                    childNames[i] = k.name().clone();
                    childInos[i] = ks.ino;
                    childTypes[i] = ks.type;
                    subdirs += ks.type == FileType.DIRECTORY ? 1 : 0;
                    i++;
                }
                nlink = 2 + subdirs;
            }
            IndexedInode x = indexed(in, type, ino, nlink, parentIno, childNames, childInos, childTypes,
                    tree.blobs.size(), resource);
            if (type == FileType.REGULAR) {
                dataBlocks += (x.attrs.size() + BLOCK_SIZE - 1) / BLOCK_SIZE;
                for (ChunkRef c : x.chunks) {
                    maxChunk = Math.max(maxChunk, c.info().uncompressedSize());
                }
            }
            map.put(ino, x);
        }
        return new InodeIndex(map, seen.get(tree.root.inode()).ino, dataBlocks, maxChunk);
    }

    /**
     * The served form of one inode (shared by the whole-image index and the direct reader): checks the chunk list
     * (blob indexes, sorted and not overlapping) and symlink target, derives the size (directories: packed dirent
     * size unless stored; symlinks: target length; devices, fifos, sockets: 0) and copies xattrs and target.
     *
     * @param childNames directory entries other than "." and ".." in name-byte order (empty for other types)
     */
    static IndexedInode indexed(Inode in, FileType type, long ino, int nlink, long parentIno, byte[][] childNames,
                                long[] childInos, FileType[] childTypes, int blobCount, String resource)
            throws CorruptImageException {
        ChunkRef[] chunks = NO_CHUNKS;
        if (type == FileType.REGULAR && !in.chunks.isEmpty()) {
            chunks = in.chunks.toArray(NO_CHUNKS);
            for (int i = 0; i < chunks.length; i++) {
                ChunkRef c = chunks[i];
                if (c.blobIndex() < 0 || c.blobIndex() >= blobCount) {
                    throw new CorruptImageException(resource, -1,
                            "inode " + ino + " chunk " + i + " names blob " + c.blobIndex() + " of " + blobCount);
                }
                if (i > 0 && c.fileOffset() < chunks[i - 1].fileOffset() + chunks[i - 1].info().uncompressedSize()) {
                    throw new CorruptImageException(resource, -1, "inode " + ino + " chunks overlap or are unsorted at chunk " + i);
                }
            }
        }
        long size = in.size;
        if (type == FileType.DIRECTORY) {
            if (size <= 0) {
                size = packedDirSize(childNames);
            }
        } else if (type == FileType.SYMLINK) {
            if (in.symlinkTarget == null || in.symlinkTarget.length == 0) {
                throw new CorruptImageException(resource, -1, "symlink inode " + ino + " has no target");
            }
            size = in.symlinkTarget.length;
        } else if (type != FileType.REGULAR) {
            size = 0;
        }
        int rdev = (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) ? in.rdev : 0;
        InodeAttributes attrs = new InodeAttributes(ino, in.mode, nlink, in.uid, in.gid, size, (size + 511) / 512,
                in.mtimeSec, in.mtimeNsec, rdev);
        SortedMap<String, byte[]> xattrs = Collections.emptySortedMap();
        if (!in.xattrs.isEmpty()) {
            TreeMap<String, byte[]> copy = new TreeMap<>();
            in.xattrs.forEach((k, v) -> copy.put(k, v.clone()));
            xattrs = Collections.unmodifiableSortedMap(copy);
        }
        byte[] target = in.symlinkTarget == null ? null : in.symlinkTarget.clone();
        return new IndexedInode(attrs, parentIno, target, xattrs, chunks, childNames, childInos, childTypes);
    }

    /** Names served must be real directory entries: 1..255 bytes, no '/', no NUL, not "." or "..". */
    static void checkName(byte[] name, long dirIno, String resource) throws CorruptImageException {
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

    /** The stored inode numbers when all are non-zero and distinct, else 1, 2, ... in order. */
    private static void assignInos(List<Seen> order) {
        long[] stored = new long[order.size()];
        boolean ok = true;
        for (int i = 0; i < stored.length && ok; i++) {
            stored[i] = order.get(i).inode.ino;
            ok = stored[i] > 0;
        }
        if (ok) {
            Arrays.sort(stored);
            for (int i = 1; i < stored.length && ok; i++) {
                ok = stored[i] != stored[i - 1];
            }
        }
        long next = 1;
        for (Seen s : order) {
            s.ino = ok ? s.inode.ino : next++;
        }
    }

    /** EROFS directory size: dirents + names ("." and ".." included) packed into 4096-byte blocks (spec 3.10). */
    static long packedDirSize(byte[][] sortedChildNames) {
        // "." and ".." are merged in at their place in name-byte order (names such as "-x" sort before them)
        long full = 0;
        int used = 0;
        int special = 0; // how many of ".", ".." are placed
        int i = 0;
        while (i < sortedChildNames.length || special < 2) {
            int len;
            if (special < 2 && (i == sortedChildNames.length
                    || Arrays.compareUnsigned(SPECIAL[special], sortedChildNames[i]) < 0)) {
                len = SPECIAL[special++].length;
            } else {
                len = sortedChildNames[i++].length;
            }
            int need = DIRENT_SIZE + len;
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
