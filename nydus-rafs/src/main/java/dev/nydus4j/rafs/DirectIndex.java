package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.v6.RafsV6DirectReader;
import dev.nydus4j.storage.ChunkInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The inodes of a RAFS v6 bootstrap decoded on first use (direct mode) instead of all at open. Serves the same
 * inode numbers (nids), attributes, entries, xattrs, targets and chunk lists as {@link InodeIndex} over the tree
 * {@link dev.nydus4j.rafs.v6.RafsV6Reader} reads, except where noted in {@link RafsImage#openDirect}.
 *
 * <p>An inode number is served only once it has been found: the root, then every entry of a directory that has
 * been decoded (by a lookup, readdir or getattr of that directory), so unknown numbers are "no such inode" as with
 * the whole-image index. Where a directory was found is remembered; its {@code ..} must name that directory, and a
 * directory found in two places is corrupt (this is how cycles and hard-linked directories are caught without a
 * whole walk). A whole walk ({@link #counts}, {@link #sortedInos}, so {@link RafsImage#inodeNumbers}) finds every
 * inode reachable from the root, and all are served from then on: nydusd relies on this after taking a FUSE session
 * over, when the kernel holds node ids it got from the previous daemon (pinned by DirectTakeoverWalkTest); numbers
 * that are no inode of the tree stay unknown. Decoded inodes are cached for good (at most one per inode of the image; a directory keeps its entry
 * names, a file its chunk list, as the whole-image index does for every inode). Thread-safe: decoding is a pure
 * function of the immutable bootstrap bytes; racing first uses decode equal objects and one is kept.
 */
final class DirectIndex implements InodeSource {
    private static final byte[][] NO_NAMES = new byte[0][];
    private static final long[] NO_INOS = new long[0];
    private static final FileType[] NO_TYPES = new FileType[0];

    private final RafsV6DirectReader reader;
    private final String resource;
    private final long root;
    private final int blobCount;
    private final ConcurrentHashMap<Long, IndexedInode> cache = new ConcurrentHashMap<>();
    /** nid → the directory it was first found in (the root: itself); these are the inode numbers served. */
    private final ConcurrentHashMap<Long, Long> found = new ConcurrentHashMap<>();
    /** {inodes, data blocks} after the first whole walk ({@link #counts()}). */
    private volatile long[] counts;

    DirectIndex(RafsV6DirectReader reader) {
        this.reader = reader;
        this.resource = reader.resource();
        this.root = reader.rootNid();
        this.blobCount = reader.blobs().size();
        found.put(root, root);
    }

    @Override
    public long rootIno() {
        return root;
    }

    @Override
    public IndexedInode get(long ino) throws IOException {
        IndexedInode i = cache.get(ino);
        if (i != null) {
            return i;
        }
        i = decode(ino);
        if (i == null) {
            return null;
        }
        IndexedInode raced = cache.putIfAbsent(ino, i);
        return raced != null ? raced : i;
    }

    /** The inode without caching it (whole walks), or null when it has not been found in a directory. */
    private IndexedInode peek(long ino) throws IOException {
        IndexedInode i = cache.get(ino);
        return i != null ? i : decode(ino);
    }

    private IndexedInode decode(long nid) throws CorruptImageException {
        Long where = found.get(nid);
        if (where == null) {
            return null;
        }
        RafsV6DirectReader.DecodedInode d = reader.inode(nid);
        Inode in = d.inode();
        FileType type = in.type();
        if (type != FileType.DIRECTORY) {
            if (nid == root) {
                throw new CorruptImageException(resource, reader.inodeOffset(nid), "root inode expected a directory,"
                        + " found mode 0" + Integer.toOctalString(in.mode));
            }
            int nlink = (int) Math.min(d.diskNlink(), Integer.MAX_VALUE);
            return InodeIndex.indexed(in, type, nid, nlink, nid, NO_NAMES, NO_INOS, NO_TYPES, blobCount, resource);
        }
        RafsV6DirectReader.Directory dir = reader.directory(nid);
        if (nid != root && dir.dotdotNid() != where) {
            throw new CorruptImageException(resource, dir.offset(), "directory nid " + nid + " entry '..' nid"
                    + " expected " + where + " (the directory it is found in), found " + dir.dotdotNid());
        }
        int subdirs = 0;
        for (int i = 0; i < dir.nids().length; i++) {
            long child = dir.nids()[i];
            Long prev = found.putIfAbsent(child, nid);
            if (dir.types()[i] == FileType.DIRECTORY) {
                subdirs++;
                if (prev != null && prev != nid) {
                    throw new CorruptImageException(resource, dir.offset(), "directory nid " + child + " expected"
                            + " reachable once, found in directory nid " + prev + " and as '"
                            + new String(dir.names()[i], StandardCharsets.UTF_8) + "' in directory nid " + nid);
                }
            }
        }
        return InodeIndex.indexed(in, type, nid, 2 + subdirs, nid == root ? root : where, dir.names(), dir.nids(),
                dir.types(), blobCount, resource);
    }

    @Override
    public int maxChunkSize() {
        return reader.maxChunkSize();
    }

    @Override
    public void collectChunks(List<List<ChunkInfo>> infos, List<List<byte[]>> digests) throws IOException {
        reader.forEachChunk((blob, info, digest) -> {
            infos.get(blob).add(info);
            digests.get(blob).add(digest);
        });
    }

    @Override
    public long[] counts() throws IOException {
        long[] c = counts;
        if (c == null) {
            long[] blocks = {0};
            long n = walk(i -> {
                if (i.attrs.isRegular()) {
                    blocks[0] += (i.attrs.size() + InodeIndex.BLOCK_SIZE - 1) / InodeIndex.BLOCK_SIZE;
                }
            }).size();
            c = new long[] {n, blocks[0]};
            counts = c;
        }
        return c.clone();
    }

    @Override
    public long[] sortedInos() throws IOException {
        return walk(i -> { }).sortedKeys();
    }

    private interface Visitor {
        void visit(IndexedInode i);
    }

    /**
     * Visits every inode reachable from the root once (breadth-first, entries in name order), decoding what is not
     * cached without caching it. Returns the visited numbers.
     */
    private LongHashMap<Boolean> walk(Visitor v) throws IOException {
        LongHashMap<Boolean> seen = new LongHashMap<>(1024);
        ArrayDeque<Long> dirs = new ArrayDeque<>();
        dirs.add(root);
        seen.put(root, Boolean.TRUE);
        v.visit(peek(root));
        while (!dirs.isEmpty()) {
            IndexedInode dir = peek(dirs.poll());
            for (int i = 0; i < dir.childCount(); i++) {
                long child = dir.childIno(i);
                if (seen.get(child) != null) {
                    continue;
                }
                seen.put(child, Boolean.TRUE);
                IndexedInode c = peek(child);
                v.visit(c);
                if (c.attrs.isDirectory()) {
                    dirs.add(child);
                }
            }
        }
        return seen;
    }

    /**
     * The paths of the prefetch table's nids, in table order: each is the path the inode is first found at in a
     * breadth-first walk with entries in name order (as the whole-image reader names them). The walk stops once every
     * nid is found; a nid that is not an inode of the tree is corrupt.
     */
    List<String> prefetchPaths() throws IOException {
        long[] nids = reader.prefetchNids();
        if (nids.length == 0) {
            return List.of();
        }
        LongHashMap<String> wanted = new LongHashMap<>(nids.length);
        for (long nid : nids) {
            wanted.put(nid, "");
        }
        int missing = wanted.size();
        LongHashMap<String> pathOf = new LongHashMap<>(nids.length);
        if (wanted.get(root) != null) {
            pathOf.put(root, "/");
            missing--;
        }
        ArrayDeque<Long> dirs = new ArrayDeque<>();
        ArrayDeque<String> dirPaths = new ArrayDeque<>();
        dirs.add(root);
        dirPaths.add("/");
        LongHashMap<Boolean> seen = new LongHashMap<>(1024);
        seen.put(root, Boolean.TRUE);
        while (missing > 0 && !dirs.isEmpty()) {
            long ino = dirs.poll();
            String path = dirPaths.poll();
            IndexedInode dir = peek(ino);
            String prefix = path.equals("/") ? "/" : path + "/";
            for (int i = 0; i < dir.childCount(); i++) {
                long child = dir.childIno(i);
                boolean first = seen.get(child) == null;
                if (!first) {
                    continue;
                }
                seen.put(child, Boolean.TRUE);
                String childPath = null;
                if (wanted.get(child) != null) {
                    childPath = prefix + new String(dir.childName(i), StandardCharsets.UTF_8);
                    pathOf.put(child, childPath);
                    missing--;
                }
                if (dir.childType(i) == FileType.DIRECTORY) {
                    dirs.add(child);
                    dirPaths.add(childPath != null ? childPath
                            : prefix + new String(dir.childName(i), StandardCharsets.UTF_8));
                }
            }
        }
        List<String> out = new ArrayList<>(nids.length);
        for (long nid : nids) {
            String p = pathOf.get(nid);
            if (p == null) {
                throw new CorruptImageException(resource, reader.prefetchTableOffset(), "prefetch table nid " + nid
                        + " expected to be an inode of the tree, found none");
            }
            out.add(p);
        }
        return out;
    }
}
