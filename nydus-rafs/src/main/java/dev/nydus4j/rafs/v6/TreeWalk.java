package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.LongHashMap;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
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
    private static final int BLOCK = ErofsSuperBlock.BLOCK_SIZE;
    private static final int MAX_SYMLINK = 4096;
    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    private final byte[] bytes;
    private final String resource;
    private final Extents extents = new Extents();
    private ByteBuffer file;
    private V6Headers h;
    private long metaBase;
    private int chunkSize;
    private int baseChunkBits;
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
        metaBase = h.sb().metaBlkaddr() * BLOCK;
        chunkSize = (int) h.ext().chunkSize();
        baseChunkBits = Integer.numberOfTrailingZeros(chunkSize) - 12;
        RafsV6ExtSuperBlock ext = h.ext();
        extents.add(ext.chunkTableOffset(), ext.chunkTableSize(), "chunk table");
        chunks = ChunkTable.read(file, ext.chunkTableOffset(), ext.chunkTableSize(), h.blobs(), resource);
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
        long max = (bytes.length - metaBase - CompactInode.SIZE) >> DiskInode.NID_SHIFT;
        if (nid < 0 || nid > max) {
            throw new CorruptImageException(resource, -1, "nid " + nid + " of '" + path
                    + "' expected an inode inside the file (max nid " + max + ")");
        }
        return metaBase + (nid << DiskInode.NID_SHIFT);
    }

    /** Decodes inode {@code nid} (once; hard links get the same object). */
    private Inode inode(long nid, Object path) throws CorruptImageException {
        Inode known = inodes.get(nid);
        if (known != null) {
            return known;
        }
        int off = (int) inodeOffset(nid, path);
        DiskInode d = DiskInode.wrap(file, off, resource);
        d.validate(resource);
        int xattrOff = off + d.inodeSize();
        int xattrSize = d.xattrSize();
        extents.add(off, (long) d.inodeSize() + xattrSize, new InodeExtent(nid, path));
        Inode in = new Inode(d.mode());
        in.ino = nid;
        in.uid = (int) d.uid();
        in.gid = (int) d.gid();
        in.mtimeSec = d.mtime();
        in.mtimeNsec = d.mtimeNsec();
        if (xattrSize > 0) {
            in.xattrs.putAll(InlineXattrs.read(file, xattrOff, xattrSize, resource));
        }
        long dataOff = (long) xattrOff + xattrSize;
        FileType type = in.type();
        switch (type) {
            case DIRECTORY:
                checkFlatLayout(d, path);
                break;
            case SYMLINK:
                checkFlatLayout(d, path);
                if (d.size() < 1 || d.size() > MAX_SYMLINK) {
                    throw new CorruptImageException(resource, off, "symlink '" + path + "' size expected"
                            + " 1..4096, found " + d.size());
                }
                in.symlinkTarget = readFlatData(d, dataOff, path);
                break;
            case REGULAR:
                in.size = d.size();
                readChunks(d, dataOff, in, path);
                break;
            default:
                if (d.size() != 0) {
                    throw new CorruptImageException(resource, off, type + " '" + path + "' size expected 0,"
                            + " found " + d.size());
                }
                if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
                    in.rdev = (int) d.iu();
                }
        }
        inodes.put(nid, in);
        if (pathsOfAll || type == FileType.DIRECTORY) {
            pathOf.put(nid, path);
        }
        if (type == FileType.DIRECTORY) {
            directoryInodes.put(nid, d);
        }
        return in;
    }

    private void checkFlatLayout(DiskInode d, Object path) throws CorruptImageException {
        int l = d.layout();
        if (l != DiskInode.LAYOUT_FLAT_PLAIN && l != DiskInode.LAYOUT_FLAT_INLINE) {
            throw new CorruptImageException(resource, d.offset(), "'" + path + "' data layout expected"
                    + " FLAT_PLAIN (0) or FLAT_INLINE (2), found " + l);
        }
    }

    /** Start and length of data block {@code b} of a flat inode whose inline tail would start at dataOff. */
    private long[] flatBlock(DiskInode d, long dataOff, int b, int nb, Object path) throws CorruptImageException {
        long size = d.size();
        if (b == nb - 1 && d.layout() == DiskInode.LAYOUT_FLAT_INLINE) {
            long len = size - (long) (nb - 1) * BLOCK;
            if (dataOff % BLOCK + len > BLOCK || dataOff + len > bytes.length) {
                throw new CorruptImageException(resource, dataOff, "inline tail of '" + path + "' ("
                        + len + " bytes at block offset " + dataOff % BLOCK + ") expected inside one block");
            }
            extents.add(dataOff, len, new Extents.Label("inline tail of '", path, "'"));
            return new long[] {dataOff, len};
        }
        long blk = d.iu() + b;
        if ((blk + 1) * BLOCK > bytes.length || blk * BLOCK < metaBase) {
            throw new CorruptImageException(resource, d.offset(), "data block " + blk + " of '" + path
                    + "' expected inside the metadata area [" + metaBase / BLOCK + ", " + bytes.length / BLOCK
                    + ")");
        }
        long len = Math.min(BLOCK, size - (long) b * BLOCK);
        extents.add(blk * BLOCK, BLOCK, new Extents.Label("data block " + b + " of '", path, "'"));
        return new long[] {blk * BLOCK, len};
    }

    private byte[] readFlatData(DiskInode d, long dataOff, Object path) throws CorruptImageException {
        int nb = (int) ((d.size() + BLOCK - 1) / BLOCK);
        byte[] out = new byte[(int) d.size()];
        for (int b = 0; b < nb; b++) {
            long[] r = flatBlock(d, dataOff, b, nb, path);
            file.get((int) r[0], out, b * BLOCK, (int) r[1]);
        }
        return out;
    }

    private void readChunks(DiskInode d, long dataOff, Inode in, Object path) throws CorruptImageException {
        if (d.layout() != DiskInode.LAYOUT_CHUNK_BASED) {
            throw new CorruptImageException(resource, d.offset(), "regular file '" + path + "' data layout"
                    + " expected CHUNK_BASED (4), found " + d.layout());
        }
        long fmt = d.iu();
        if ((fmt & ~(ChunkAddress.CHUNK_FORMAT_INDEXES | ChunkAddress.CHUNK_FORMAT_BLKBITS_MASK)) != 0
                || (fmt & ChunkAddress.CHUNK_FORMAT_INDEXES) == 0) {
            throw new CorruptImageException(resource, d.offset(), String.format("chunk format of '%s' expected"
                    + " INDEXES (0x20) set and bits 6..31 clear, found 0x%x", path, fmt));
        }
        int chunkBits = (int) (fmt & ChunkAddress.CHUNK_FORMAT_BLKBITS_MASK);
        long size = d.size();
        long n = (size + chunkSize - 1) / chunkSize;
        long arrayOff = (dataOff + 7) & ~7L;
        if (n > (bytes.length - arrayOff) / ChunkAddress.SIZE) {
            throw new CorruptImageException(resource, arrayOff, "chunk address array of '" + path + "' ("
                    + n + " entries for size " + size + ") expected inside the file");
        }
        extents.add(arrayOff, n * ChunkAddress.SIZE, new Extents.Label("chunk addresses of '", path, "'"));
        int firstBlob = -1;
        long firstBlk = 0;
        boolean contiguous = true;
        for (int i = 0; i < n; i++) {
            int at = (int) arrayOff + i * ChunkAddress.SIZE;
            ChunkAddress a = ChunkAddress.wrap(file, at);
            int blob = a.blobIndex();
            if (blob < 0 || blob >= h.blobs().size()) {
                throw new CorruptImageException(resource, at, "chunk " + i + " of '" + path + "': blob index"
                        + " expected 0.." + (h.blobs().size() - 1) + ", found " + blob);
            }
            BlobInfo bi = h.blobs().get(blob);
            long fileOff = (long) i * chunkSize;
            long expectLen = Math.min(chunkSize, size - fileOff);
            if (a.chunkIndex() >= bi.chunkCount()) {
                throw new CorruptImageException(resource, at, "chunk " + i + " of '" + path + "': chunk index"
                        + " expected < chunk_count " + bi.chunkCount() + ", found " + a.chunkIndex());
            }
            if (a.blkAddr() == ChunkAddress.HOLE_BLKADDR
                    || a.blkAddr() * BLOCK + expectLen > bi.uncompressedSize()) {
                throw new CorruptImageException(resource, at, "chunk " + i + " of '" + path + "': block address"
                        + " expected inside the blob's " + bi.uncompressedSize() + " uncompressed bytes, found "
                        + a.blkAddr());
            }
            ChunkRecord r = chunks.find(blob, a.chunkIndex(), a.blkAddr());
            if (r == null) {
                throw new CorruptImageException(resource, at, "chunk " + i + " of '" + path + "' (blob " + blob
                        + ", chunk index " + a.chunkIndex() + ", blkaddr " + a.blkAddr() + ") expected in the"
                        + " bootstrap chunk table, found none");
            }
            if (r.uncompressedSize() != expectLen) {
                throw new CorruptImageException(resource, r.position(), "chunk " + i + " of '" + path + "'"
                        + " uncompressed_size expected " + expectLen + ", found " + r.uncompressedSize());
            }
            if (i == 0) {
                firstBlob = blob;
                firstBlk = a.blkAddr();
            } else if (blob != firstBlob || a.blkAddr() != firstBlk + fileOff / BLOCK) {
                contiguous = false;
            }
            in.chunks.add(new ChunkRef(blob, r.digest(), r.toChunkInfo(), fileOff));
        }
        if (chunkBits != baseChunkBits) {
            // the kernel sees one chunk of 1 << (12 + chunkbits) bytes: valid only for the contiguity case
            boolean ok = chunkBits > baseChunkBits && n > 1 && contiguous && chunkBits + 12 < 63
                    && (1L << (12 + chunkBits)) >= size;
            if (!ok) {
                throw new CorruptImageException(resource, d.offset(), "chunkbits of '" + path + "' expected "
                        + baseChunkBits + " (or a larger value covering a contiguous file), found " + chunkBits);
            }
        }
    }

    private void readDirectory(Pending p, ArrayDeque<Pending> queue) throws CorruptImageException {
        DiskInode d = directoryInodes.get(p.nid);
        long dataOff = d.offset() + d.inodeSize() + d.xattrSize();
        long size = d.size();
        if (size < 2L * Dirent.SIZE + 3 || size > (long) bytes.length) {
            throw new CorruptImageException(resource, d.offset(), "directory '" + p.path + "' size expected"
                    + " >= 27 (. and ..) and inside the file, found " + size);
        }
        int nb = (int) ((size + BLOCK - 1) / BLOCK);
        DirectoryData data = new DirectoryData();
        for (int b = 0; b < nb; b++) {
            long[] r = flatBlock(d, dataOff, b, nb, p.path);
            data.readBlock(file, (int) r[0], (int) r[1], resource, p.path);
        }
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
