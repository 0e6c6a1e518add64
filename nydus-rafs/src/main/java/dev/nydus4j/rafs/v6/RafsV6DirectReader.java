package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * On-demand RAFS v6 reader (direct mode): {@link #open} validates the superblock, the extended superblock, the blob
 * and device tables; the chunk table is validated and indexed by its first user ({@link #forEachChunk}, which
 * {@code RafsImage.openDirect} runs on a background thread, or the first chunk lookup; others wait for it), and a
 * corrupt table fails every lookup; inodes and directories are decoded and validated when asked for, with the
 * same per-structure checks as the whole-image {@link RafsV6Reader} (shared {@code InodeDecoder}): offsets inside
 * the bootstrap, counts, name lengths and order, chunk addresses against the chunk table. What only a whole walk can
 * prove is not checked here: that no two structures overlap, that bytes outside them are zero, and that every
 * directory is reachable once (callers that track where they found a directory check its {@code ..}).
 *
 * <p>Errors name the inode by nid ({@code 'nid N'}) since its path is not known. Immutable after {@link #open} and
 * thread-safe: every method reads the bootstrap bytes, which are never written, and returns fresh objects.
 */
public final class RafsV6DirectReader {
    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    private final byte[] bytes;
    private final String resource;
    private final V6Headers h;
    private final ChunkTable chunks;
    private final InodeDecoder dec;
    private final boolean xattrFlag;

    /** One decoded inode and its on-disk {@code i_nlink}. */
    public record DecodedInode(Inode inode, long diskNlink) {
    }

    /**
     * The entries of one directory other than "." and "..", in name-byte order, with the nid of its ".." entry.
     * Names are 1..255 bytes without '/' or NUL, strictly sorted; each type is the entry's e_file_type and equals
     * the type of the child inode's mode; no directory nid appears twice and none is the root.
     */
    public record Directory(long nid, long dotdotNid, byte[][] names, long[] nids, FileType[] types, long offset) {
    }

    /** Receives one chunk-table record (the table's order). */
    public interface ChunkVisitor {
        void chunk(int blobIndex, ChunkInfo info, byte[] digest);
    }

    private RafsV6DirectReader(byte[] bytes, String resource, V6Headers h, ChunkTable chunks) {
        this.bytes = bytes;
        this.resource = resource;
        this.h = h;
        this.chunks = chunks;
        this.dec = new InodeDecoder(bytes, resource, h, chunks, null);
        this.xattrFlag = h.ext().hasXattrFlag();
    }

    /**
     * Validates the headers of the bootstrap held in {@code bytes} (kept, not copied: the caller must not modify them
     * afterwards), not yet its chunk table (see the class); {@code resource} names it in errors.
     */
    public static RafsV6DirectReader open(byte[] bytes, String resource) throws CorruptImageException {
        if (bytes.length > RafsV6Reader.MAX_BOOTSTRAP_SIZE) {
            throw new CorruptImageException(resource, 0, "bootstrap size expected <= "
                    + RafsV6Reader.MAX_BOOTSTRAP_SIZE + " bytes, found " + bytes.length);
        }
        V6Headers h = V6Headers.read(bytes, resource, new Extents());
        RafsV6ExtSuperBlock ext = h.ext();
        ChunkTable chunks = ChunkTable.deferred(h.file(), ext.chunkTableOffset(), ext.chunkTableSize(), h.blobs(),
                resource);
        RafsV6DirectReader r = new RafsV6DirectReader(bytes, resource, h, chunks);
        long root = r.rootNid();
        r.dec.inodeOffset(root, "/");
        return r;
    }

    public String resource() {
        return resource;
    }

    /** The superblock's HAS_XATTR flag: some inode has xattrs. */
    public boolean hasXattrFlag() {
        return xattrFlag;
    }

    public long rootNid() {
        return h.sb().rootNid();
    }

    /** Blob table in order (immutable). */
    public List<BlobInfo> blobs() {
        return h.blobs();
    }

    public int chunkSize() {
        return dec.chunkSize;
    }

    /** Largest uncompressed chunk size of the chunk table, at most 16 MiB before it is validated (0 when empty). */
    public int maxChunkSize() {
        return chunks.maxUncompressedSize();
    }

    /** Visits every record of the chunk table, in table order, once it is validated. */
    public void forEachChunk(ChunkVisitor v) throws CorruptImageException {
        chunks.validate();
        for (int i = 0; i < chunks.size(); i++) {
            ChunkRecord r = chunks.record(i);
            v.chunk((int) r.blobIndex(), r.toChunkInfo(), r.digest());
        }
    }

    /** The nids of the prefetch table (empty without one), not yet checked to be inodes of the tree. */
    public long[] prefetchNids() {
        RafsV6ExtSuperBlock ext = h.ext();
        return ext.hasPrefetchTable() ? PrefetchTable.read(h.file(), ext.prefetchTableOffset(),
                ext.prefetchTableSize()) : new long[0];
    }

    /** Offset of the prefetch table, for error messages. */
    public long prefetchTableOffset() {
        return h.ext().prefetchTableOffset();
    }

    /** How errors name an inode: {@code nid N}, as text only when reported. */
    private record NidLabel(long nid) {
        @Override
        public String toString() {
            return "nid " + nid;
        }
    }

    /** How errors name a directory entry's inode, as text only when reported. */
    private record EntryLabel(long nid, byte[] name, Object dir) {
        @Override
        public String toString() {
            return "nid " + nid + " ('" + new String(name, StandardCharsets.UTF_8) + "' in " + dir + ")";
        }
    }

    private static Object label(long nid) {
        return new NidLabel(nid);
    }

    /** File offset of inode {@code nid}, after checking that it lies inside the bootstrap. */
    public long inodeOffset(long nid) throws CorruptImageException {
        return dec.inodeOffset(nid, label(nid));
    }

    /**
     * Decodes and validates inode {@code nid}: format, mode, nlink, inline xattrs, symlink target, the chunk list of
     * a regular file (each address checked against the blob table and found in the chunk table). Directory entries
     * are read by {@link #directory}.
     */
    public DecodedInode inode(long nid) throws CorruptImageException {
        Object path = label(nid);
        DiskInode d = dec.disk(nid, path);
        return new DecodedInode(dec.decode(d, nid, path), d.nlink());
    }

    /** Reads and validates the entries of directory {@code nid} (see {@link Directory}). */
    public Directory directory(long nid) throws CorruptImageException {
        Object path = label(nid);
        DiskInode d = dec.disk(nid, path);
        if (FileType.fromMode(d.mode()) != FileType.DIRECTORY) {
            throw new CorruptImageException(resource, d.offset(), "inode " + path + " expected a directory, found"
                    + " mode 0" + Integer.toOctalString(d.mode()));
        }
        List<DirectoryData.Entry> all = dec.directory(d, path).entries();
        int n = all.size();
        byte[][] names = new byte[n][];
        long[] nids = new long[n];
        FileType[] types = new FileType[n];
        long[] subdirs = new long[n];
        int count = 0;
        int dirs = 0;
        long dotdot = -1;
        boolean dot = false;
        long root = rootNid();
        for (DirectoryData.Entry e : all) {
            if (Arrays.equals(e.name(), DOT)) {
                expectType(e, FileType.DIRECTORY, path);
                if (e.nid() != nid) {
                    throw new CorruptImageException(resource, e.offset(), "directory '" + path + "' entry '.' nid"
                            + " expected " + nid + ", found " + e.nid());
                }
                dot = true;
                continue;
            }
            if (Arrays.equals(e.name(), DOTDOT)) {
                expectType(e, FileType.DIRECTORY, path);
                dec.inodeOffset(e.nid(), new Extents.Label("", path, "/.."));
                dotdot = e.nid();
                continue;
            }
            long child = e.nid();
            if (child == 0) {
                // the whole-image reader renumbers every inode when one has nid 0; on demand that cannot be done
                throw new CorruptImageException(resource, e.offset(), "directory '" + path + "' entry '"
                        + new String(e.name(), StandardCharsets.UTF_8) + "' has nid 0, which the direct reader"
                        + " cannot serve (open the image with the whole-image reader)");
            }
            FileType type = dec.type(child, new EntryLabel(child, e.name(), path));
            expectType(e, type, path);
            if (type == FileType.DIRECTORY) {
                if (child == root || child == nid) {
                    throw new CorruptImageException(resource, e.offset(), "directory nid " + child
                            + " expected reachable once, found again as '" + new String(e.name(),
                            StandardCharsets.UTF_8) + "' in " + path);
                }
                subdirs[dirs++] = child;
            }
            names[count] = e.name();
            nids[count] = child;
            types[count] = type;
            count++;
        }
        if (!dot || dotdot < 0) {
            throw new CorruptImageException(resource, d.offset(), "directory '" + path + "' expected '.' and"
                    + " '..' entries, found " + (dot ? "" : "no '.' ") + (dotdot >= 0 ? "" : "no '..'"));
        }
        if (nid == root && dotdot != root) {
            throw new CorruptImageException(resource, d.offset(), "root directory entry '..' nid expected "
                    + root + ", found " + dotdot);
        }
        Arrays.sort(subdirs, 0, dirs);
        for (int i = 1; i < dirs; i++) {
            if (subdirs[i] == subdirs[i - 1]) {
                throw new CorruptImageException(resource, d.offset(), "directory nid " + subdirs[i]
                        + " expected reachable once, found twice in " + path);
            }
        }
        return new Directory(nid, dotdot, Arrays.copyOf(names, count), Arrays.copyOf(nids, count),
                Arrays.copyOf(types, count), d.offset());
    }

    private void expectType(DirectoryData.Entry e, FileType type, Object path) throws CorruptImageException {
        if (e.fileType() != type.direntType()) {
            throw new CorruptImageException(resource, e.offset() + Dirent.FILE_TYPE_OFFSET, "directory '" + path
                    + "' entry '" + new String(e.name(), StandardCharsets.UTF_8) + "' e_file_type expected "
                    + type.direntType() + " (" + type + "), found " + e.fileType());
        }
    }

    /** Bootstrap size in bytes. */
    public int size() {
        return bytes.length;
    }
}
