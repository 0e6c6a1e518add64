package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.LongHashMap;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * One strict read of a whole bootstrap (checklist 3.16 items 4-7): breadth-first walk from the root nid that decodes
 * every inode once, checks directories, chunk addresses and the prefetch table, and finally proves that no two
 * structures overlap and that all other bytes are zero. Single use, not thread-safe.
 */
final class TreeWalk {
    private static final Logger LOG = LoggerFactory.getLogger(TreeWalk.class);
    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    private final byte[] bytes;
    private final String resource;
    private final Extents extents = new Extents();
    private ByteBuffer file;
    private V6Headers h;
    private InodeDecoder dec;
    private int chunkSize;
    private ChunkTable chunks;
    private final LongHashMap<Inode> inodes = new LongHashMap<>(1024);
    /** Where each inode was first found: a path, built into text only for error messages and the prefetch table. */
    private final LongHashMap<Object> pathOf = new LongHashMap<>(1024);
    /** Whether {@link #pathOf} must name every inode (a prefetch table refers to them), not just directories. */
    private boolean pathsOfAll;
    /** Decoded directory inodes whose entries are not read yet (BFS queue companions). */
    private final Map<Long, DiskInode> directoryInodes = new HashMap<>();

    private record Pending(Node node, long nid, long parentNid, Object path) {
    }

    /** Description of an inode's extent (inode + inline xattrs), as text only when an error reports it. */
    private record InodeExtent(long nid, Object path) {
        @Override
        public String toString() {
            return "inode " + nid + " ('" + path + "') + xattrs";
        }
    }

    /** The path of a directory entry, as text only when {@link #toString()} is called (errors, prefetch table). */
    private record ChildPath(Object parent, byte[] name) {
        @Override
        public String toString() {
            String p = parent.toString();
            return (p.equals("/") ? "/" : p + "/") + new String(name, StandardCharsets.UTF_8);
        }
    }

    TreeWalk(byte[] bytes, String resource) {
        this.bytes = bytes;
        this.resource = resource;
    }

    RafsTree run() throws CorruptImageException {
        h = V6Headers.read(bytes, resource, extents);
        file = h.file();
        RafsV6ExtSuperBlock ext = h.ext();
        extents.add(ext.chunkTableOffset(), ext.chunkTableSize(), "chunk table");
        chunks = ChunkTable.read(file, ext.chunkTableOffset(), ext.chunkTableSize(), h.blobs(), resource);
        dec = new InodeDecoder(bytes, resource, h, chunks, extents);
        chunkSize = dec.chunkSize;
        pathsOfAll = ext.hasPrefetchTable();
        long rootNid = h.sb().rootNid();
        Inode rootInode = inode(rootNid, "/");
        if (!rootInode.isDirectory()) {
            throw new CorruptImageException(resource, inodeOffset(rootNid, "/"),
                    "root inode expected a directory, found mode 0" + Integer.toOctalString(rootInode.mode));
        }
        Node root = new Node(new byte[0], rootInode);
        ArrayDeque<Pending> queue = new ArrayDeque<>();
        queue.add(new Pending(root, rootNid, rootNid, "/"));
        while (!queue.isEmpty()) {
            readDirectory(queue.poll(), queue);
        }
        RafsTree tree = new RafsTree(root);
        tree.blobs.addAll(h.blobs());
        tree.chunkSize = chunkSize;
        tree.compressor = ext.compressor();
        tree.digester = ext.digester();
        tree.explicitUidGid = (ext.flags() & RafsV6ExtSuperBlock.FLAG_EXPLICIT_UID_GID) != 0;
        tree.xattrFlag = ext.hasXattrFlag();
        if (ext.hasPrefetchTable()) {
            extents.add(ext.prefetchTableOffset(), ext.prefetchTableSize(), "prefetch table");
            for (long nid : PrefetchTable.read(file, ext.prefetchTableOffset(), ext.prefetchTableSize())) {
                Object p = pathOf.get(nid);
                if (p == null) {
                    throw new CorruptImageException(resource, ext.prefetchTableOffset(), "prefetch table nid "
                            + nid + " expected to be an inode of the tree, found none");
                }
                tree.prefetchPaths.add(p.toString());
            }
        }
        extents.verify(bytes, resource);
        logSummary(tree);
        return tree;
    }

    private void logSummary(RafsTree tree) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("{}: read {} inodes, {} blobs, {} chunk records, compressor {}, digester {}", resource,
                    inodes.size(), tree.blobs.size(), chunks.size(), tree.compressor.configName(),
                    tree.digester.configName());
        }
    }

    private long inodeOffset(long nid, Object path) throws CorruptImageException {
        return dec.inodeOffset(nid, path);
    }

    /** Decodes inode {@code nid} (once; hard links get the same object). */
    private Inode inode(long nid, Object path) throws CorruptImageException {
        Inode known = inodes.get(nid);
        if (known != null) {
            return known;
        }
        DiskInode d = dec.disk(nid, path);
        extents.add(d.offset(), (long) d.inodeSize() + d.xattrSize(), new InodeExtent(nid, path));
        Inode in = dec.decode(d, nid, path);
        FileType type = in.type();
        inodes.put(nid, in);
        if (pathsOfAll || type == FileType.DIRECTORY) {
            pathOf.put(nid, path);
        }
        if (type == FileType.DIRECTORY) {
            directoryInodes.put(nid, d);
        }
        return in;
    }

    private void readDirectory(Pending p, ArrayDeque<Pending> queue) throws CorruptImageException {
        DiskInode d = directoryInodes.get(p.nid);
        DirectoryData data = dec.directory(d, p.path);
        boolean dot = false;
        boolean dotdot = false;
        for (DirectoryData.Entry e : data.entries()) {
            if (Arrays.equals(e.name(), DOT)) {
                expectNid(e, p.nid, ".", p.path);
                expectType(e, FileType.DIRECTORY, p.path);
                dot = true;
                continue;
            }
            if (Arrays.equals(e.name(), DOTDOT)) {
                expectNid(e, p.parentNid, "..", p.path);
                expectType(e, FileType.DIRECTORY, p.path);
                dotdot = true;
                continue;
            }
            Object childPath = new ChildPath(p.path, e.name());
            Inode known = inodes.get(e.nid());
            boolean seen = known != null;
            Inode child = seen ? known : inode(e.nid(), childPath);
            expectType(e, child.type(), p.path);
            if (child.isDirectory()) {
                if (seen) {
                    throw new CorruptImageException(resource, e.offset(), "directory nid " + e.nid()
                            + " expected reachable once, found at '" + pathOf.get(e.nid()) + "' and '"
                            + childPath + "'");
                }
                Node n = new Node(e.name(), child);
                p.node.putChild(n);
                queue.add(new Pending(n, e.nid(), p.nid, childPath.toString())); // directories: text, so paths nest once
            } else {
                p.node.putChild(new Node(e.name(), child));
            }
        }
        if (!dot || !dotdot) {
            throw new CorruptImageException(resource, d.offset(), "directory '" + p.path + "' expected '.' and"
                    + " '..' entries, found " + (dot ? "" : "no '.' ") + (dotdot ? "" : "no '..'"));
        }
        directoryInodes.remove(p.nid);
    }

    private void expectNid(DirectoryData.Entry e, long nid, String name, Object path)
            throws CorruptImageException {
        if (e.nid() != nid) {
            throw new CorruptImageException(resource, e.offset(), "directory '" + path + "' entry '" + name
                    + "' nid expected " + nid + ", found " + e.nid());
        }
    }

    private void expectType(DirectoryData.Entry e, FileType type, Object path) throws CorruptImageException {
        if (e.fileType() != type.direntType()) {
            throw new CorruptImageException(resource, e.offset() + Dirent.FILE_TYPE_OFFSET, "directory '" + path
                    + "' entry '" + new String(e.name(), StandardCharsets.UTF_8) + "' e_file_type expected "
                    + type.direntType() + " (" + type + "), found " + e.fileType());
        }
    }
}
