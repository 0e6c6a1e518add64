package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.ChunkRecord;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link RafsTree} as a RAFS v5 bootstrap (RAFS spec 5) laid out as upstream's builder does (see
 * {@link RafsV5Layout}): superblock, inode table, optional prefetch table, blob table, extended blob table, then
 * one record per tree entry. Deterministic: the same tree gives the same bytes. Stateless and thread-safe.
 *
 * <p>The data blobs are the same files a v6 build produces. Their blob.meta, blob.digest and ToC sections can
 * stay: a v5 bootstrap locates every chunk through its own chunk records (compressed offset/size inside the
 * blob's chunk data), never through a chunk information array, so readers of v5 ignore those trailing sections,
 * and the extended table records only the layout feature bits ({@link RafsV5BlobTable#WRITTEN_FEATURES}).
 * Keeping the bytes identical also keeps the blob id (sha256 of the file) the same for both versions.
 */
public final class RafsV5Writer {
    private static final Logger LOG = LoggerFactory.getLogger(RafsV5Writer.class);

    private RafsV5Writer() {
    }

    /** Writes the bootstrap of {@code tree} to {@code out} (replacing it). */
    public static void write(RafsTree tree, Path out) throws IOException {
        Files.write(out, toBytes(tree));
    }

    /**
     * The bootstrap bytes of {@code tree}.
     *
     * @throws IllegalArgumentException when the tree cannot be represented in v5 (names, symlinks, xattrs, chunks,
     *                                  blobs with another compressor or digester than the tree); the message names
     *                                  the path or blob
     */
    public static byte[] toBytes(RafsTree tree) {
        checkSettings(tree);
        RafsV5BlobTable.checkWritable(tree.blobs);
        List<Node> prefetch = tree.prefetchNodes();
        RafsV5Layout layout = RafsV5Layout.plan(tree);
        long inodeTableSize = RafsV5Layout.align8(4L * layout.plans.size());
        long prefetchOffset = RafsV5SuperBlock.SIZE + inodeTableSize;
        long prefetchSize = RafsV5Layout.align8(4L * prefetch.size());
        long blobTableOffset = prefetchOffset + prefetchSize;
        byte[] blobTable = RafsV5BlobTable.encode(tree.blobs);
        long extOffset = blobTableOffset + blobTable.length;
        long extSize = (long) tree.blobs.size() * RafsV5BlobTable.EXT_ENTRY_SIZE;
        layout.assignOffsets(extOffset + extSize);
        long fileSize = layout.end();
        if (fileSize > RafsV5Reader.MAX_BOOTSTRAP_SIZE) {
            throw new IllegalArgumentException("the bootstrap would be " + fileSize + " bytes; RAFS v5 bootstraps are"
                    + " below 2 GiB");
        }
        byte[] bytes = new byte[(int) fileSize];
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (RafsV5InodePlan p : layout.plans) {
            buf.putInt(RafsV5SuperBlock.SIZE + 4 * (p.index - 1), (int) (p.offset / 8));
        }
        Map<Node, RafsV5InodePlan> byNode = new IdentityHashMap<>();
        for (RafsV5InodePlan p : layout.plans) {
            byNode.put(p.node, p);
        }
        for (int i = 0; i < prefetch.size(); i++) {
            buf.putInt((int) prefetchOffset + 4 * i, (int) byNode.get(prefetch.get(i)).ino);
        }
        buf.put((int) blobTableOffset, blobTable);
        RafsV5BlobTable.writeExtended(buf, (int) extOffset, tree.blobs);
        RafsV5InodeRecord rec = new RafsV5InodeRecord(buf);
        long chunkRecords = 0;
        for (RafsV5InodePlan p : layout.plans) {
            chunkRecords += writeRecord(buf, rec, p);
        }
        long flags = RafsV5SuperBlock.flagsFor(tree.compressor, tree.digester, tree.explicitUidGid, layout.hasXattr);
        RafsV5SuperBlock.writeTo(buf, tree.chunkSize, flags, layout.distinctInodes, layout.plans.size(),
                prefetchOffset, prefetch.size(), blobTableOffset, blobTable.length, extOffset, tree.blobs.size());
        LOG.debug("wrote RAFS v5 bootstrap: {} entries, {} blobs, {} chunk records, {} bytes", layout.plans.size(),
                tree.blobs.size(), chunkRecords, fileSize);
        return bytes;
    }

    private static void checkSettings(RafsTree tree) {
        int cs = tree.chunkSize;
        if (cs < 4096 || cs > (16 << 20) || Integer.bitCount(cs) != 1) {
            throw new IllegalArgumentException("chunk size must be a power of two in [4096, 16 MiB], got " + cs);
        }
        // v5 has one compressor and one digester for the whole image (the superblock's, spec 5.5)
        for (BlobInfo b : tree.blobs) {
            if (b.compressionAlgo() != tree.compressor.id() || b.digestAlgo() != tree.digester.id()) {
                throw new IllegalArgumentException("blob " + b.blobId() + " uses compressor id " + b.compressionAlgo()
                        + " and digester id " + b.digestAlgo() + ", but a RAFS v5 image has one compressor ("
                        + tree.compressor.configName() + ") and one digester (" + tree.digester.configName()
                        + ") for all blobs");
            }
        }
    }

    /** Writes the record of {@code p}; returns the number of chunk records written. */
    private static int writeRecord(ByteBuffer buf, RafsV5InodeRecord rec, RafsV5InodePlan p) {
        int off = (int) p.offset;
        rec.at(off).write(p);
        int pos = off + RafsV5InodeRecord.SIZE;
        buf.put(pos, p.name);
        pos = (int) RafsV5Layout.align8(pos + p.name.length);
        if (p.inode.type() == FileType.SYMLINK) {
            buf.put(pos, p.inode.symlinkTarget);
            pos = (int) RafsV5Layout.align8(pos + p.inode.symlinkTarget.length);
        }
        if (!p.inode.xattrs.isEmpty()) {
            pos = RafsV5XattrTable.writeTo(buf, pos, p.inode.xattrs);
        }
        if (!p.inode.isRegular()) {
            return 0;
        }
        for (ChunkRef c : p.inode.chunks) {
            ChunkRecord.wrap(buf, pos).writeFrom(c.digest(), c.blobIndex(), c.info(), c.fileOffset());
            pos += ChunkRecord.SIZE;
        }
        return p.inode.chunks.size();
    }
}
