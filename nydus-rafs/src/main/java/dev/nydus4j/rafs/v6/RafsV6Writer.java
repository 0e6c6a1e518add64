package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a {@link RafsTree} as a RAFS v6 bootstrap following spec 3.1-3.15 and the recipe of section 4: extended
 * inodes, root nid 128, FLAT_INLINE directories/symlinks when the tail fits the block, sorted dirents with
 * {@code .}/{@code ..}, chunk addresses, chunk table, device slots with 512 KiB-segment mapped_blkaddr, blob table
 * and an optional prefetch table. Deterministic: the same tree gives the same bytes. Stateless and thread-safe.
 */
public final class RafsV6Writer {
    private static final Logger LOG = LoggerFactory.getLogger(RafsV6Writer.class);
    static final int BLOCK = ErofsSuperBlock.BLOCK_SIZE;

    private RafsV6Writer() {
    }

    /** Writes the bootstrap of {@code tree} to {@code out} (replacing it). */
    public static void write(RafsTree tree, Path out) throws IOException {
        Files.write(out, toBytes(tree));
    }

    /**
     * The bootstrap bytes of {@code tree}.
     *
     * @throws IllegalArgumentException when the tree cannot be represented (names, symlinks, xattrs, chunks, blob
     *                                  count); the message names the path
     */
    public static byte[] toBytes(RafsTree tree) {
        checkSettings(tree);
        int blobs = tree.blobs.size();
        long blobTableOffset = MetadataLayout.alignUp(DeviceSlot.TABLE_POSITION + (long) blobs * DeviceSlot.SIZE,
                BLOCK);
        long blobTableSize = (long) blobs * BlobTableEntry.SIZE;
        // the prefetch table follows the blob table; its entries are nids, known only after layout, but its
        // length is known now (the requested paths that exist)
        List<Node> prefetch = tree.prefetchNodes();
        long prefetchOffset = blobTableOffset + blobTableSize;
        long prefetchSize = (long) prefetch.size() * PrefetchTable.ENTRY_SIZE;
        long metaBlkaddr = MetadataLayout.alignUp(prefetchOffset + prefetchSize, BLOCK) / BLOCK;

        MetadataLayout layout = MetadataLayout.plan(tree, metaBlkaddr);
        ChunkTableBuilder chunkTable = new ChunkTableBuilder();
        for (InodePlan p : layout.plans) {
            for (ChunkRef c : p.inode.chunks) {
                chunkTable.add(c, p.path);
            }
        }
        long chunkTableOffset = chunkTable.count() == 0 ? 0 : layout.end;
        long chunkTableSize = (long) chunkTable.count() * ChunkRecord.SIZE;
        long fileSize = MetadataLayout.alignUp(layout.end + chunkTableSize, BLOCK);
        if (fileSize > RafsV6Reader.MAX_BOOTSTRAP_SIZE) {
            throw new IllegalArgumentException("the bootstrap would be " + fileSize + " bytes; at most "
                    + RafsV6Reader.MAX_BOOTSTRAP_SIZE + " are supported");
        }

        byte[] bytes = new byte[(int) fileSize];
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long totalBlocks = writeBlobsAndDevices(tree, buf, blobTableOffset, fileSize);
        long[] prefetchNids = prefetch.stream().mapToLong(n -> layout.byInode.get(n.inode()).nid).toArray();
        PrefetchTable.writeTo(buf, prefetchOffset, prefetchNids);
        chunkTable.writeTo(buf, layout.end);
        boolean xattrs = false;
        int chunkBits = Integer.numberOfTrailingZeros(tree.chunkSize) - 12;
        for (InodePlan p : layout.plans) {
            writeInode(buf, p, chunkBits);
            xattrs |= !p.inode.xattrs.isEmpty();
        }
        ErofsSuperBlock.wrap(buf).writeTo((int) layout.plans.get(0).nid, layout.plans.size(), totalBlocks,
                metaBlkaddr, blobs);
        RafsV6ExtSuperBlock.wrap(buf).writeTo(flags(tree, xattrs), blobTableOffset, blobTableSize, tree.chunkSize,
                chunkTableOffset, chunkTableSize, prefetch.isEmpty() ? 0 : prefetchOffset, prefetchSize);
        LOG.debug("wrote RAFS v6 bootstrap: {} inodes, {} blobs, {} chunk records, {} bytes", layout.plans.size(),
                blobs, chunkTable.count(), fileSize);
        return bytes;
    }

    private static void checkSettings(RafsTree tree) {
        int cs = tree.chunkSize;
        if (cs < RafsV6ExtSuperBlock.MIN_CHUNK_SIZE || cs > RafsV6ExtSuperBlock.MAX_CHUNK_SIZE
                || Integer.bitCount(cs) != 1) {
            throw new IllegalArgumentException("chunk size must be a power of two in [4096, 16 MiB], got " + cs);
        }
        if (tree.blobs.size() > BlobTableEntry.MAX_BLOBS) {
            throw new IllegalArgumentException("a RAFS v6 image holds at most 254 blobs, the tree has "
                    + tree.blobs.size());
        }
        Set<String> ids = new LinkedHashSet<>();
        for (BlobInfo b : tree.blobs) {
            String id = b.blobId();
            if (id == null || id.isEmpty() || id.length() > BlobTableEntry.BLOB_ID_SIZE
                    || !StandardCharsets.US_ASCII.newEncoder().canEncode(id) || id.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("blob id '" + id + "' must be 1..64 ASCII characters");
            }
            if (!ids.add(id)) {
                throw new IllegalArgumentException("blob id " + id + " appears twice in the blob table");
            }
            if (b.uncompressedSize() < BLOCK || b.uncompressedSize() % BLOCK != 0) {
                throw new IllegalArgumentException("blob " + id + " uncompressed size must be a non-zero multiple"
                        + " of 4096, got " + b.uncompressedSize());
            }
            if (!b.hasFeature(BlobInfo.FEATURE_ALIGNED)) {
                throw new IllegalArgumentException("blob " + id + " must have the ALIGNED feature (v6 needs"
                        + " 4096-aligned uncompressed chunk offsets)");
            }
        }
    }

    /** Blob table and device slots; returns the sum of the device blocks (superblock {@code blocks}). */
    private static long writeBlobsAndDevices(RafsTree tree, ByteBuffer buf, long blobTableOffset, long fileSize) {
        long pos = fileSize;
        long total = 0;
        for (int i = 0; i < tree.blobs.size(); i++) {
            BlobInfo b = tree.blobs.get(i);
            BlobTableEntry.wrap(buf, blobTableOffset, i).writeTo(b, i, tree.chunkSize);
            long blocks = b.uncompressedSize() / BLOCK;
            long mapped = MetadataLayout.alignUp(pos, DeviceSlot.MAPPED_ALIGNMENT) / BLOCK;
            if (mapped + blocks > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("blobs too large for the flat block view: blob " + b.blobId()
                        + " would end at block " + (mapped + blocks));
            }
            DeviceSlot.wrap(buf, i).writeTo(b.blobId(), blocks, mapped);
            pos = (mapped + blocks) * BLOCK;
            total += blocks;
        }
        return total;
    }

    private static long flags(RafsTree tree, boolean xattrs) {
        long f = RafsV6ExtSuperBlock.compressionFlag(tree.compressor) | RafsV6ExtSuperBlock.hashFlag(tree.digester);
        if (tree.explicitUidGid) {
            f |= RafsV6ExtSuperBlock.FLAG_EXPLICIT_UID_GID;
        }
        if (xattrs) {
            f |= RafsV6ExtSuperBlock.FLAG_HAS_XATTR;
        }
        if (!tree.blobs.isEmpty()
                && tree.blobs.stream().allMatch(b -> b.hasFeature(BlobInfo.FEATURE_INLINED_CHUNK_DIGEST))) {
            f |= RafsV6ExtSuperBlock.FLAG_INLINED_CHUNK_DIGEST;
        }
        return f;
    }

    /**
     * chunkbits for the kernel (spec 3.12): upstream's optimisation lets the kernel see a file whose chunks are all
     * in one blob and contiguous in its uncompressed space as a single chunk of {@code next_power_of_two(size)}.
     */
    static int kernelChunkBits(Inode in, int baseBits) {
        List<ChunkRef> chunks = in.chunks;
        if (chunks.size() < 2) {
            return baseBits;
        }
        ChunkRef first = chunks.get(0);
        long chunkSize = 1L << (baseBits + 12);
        for (int i = 1; i < chunks.size(); i++) {
            ChunkRef c = chunks.get(i);
            if (c.blobIndex() != first.blobIndex()
                    || c.info().uncompressedOffset() != first.info().uncompressedOffset() + i * chunkSize) {
                return baseBits;
            }
        }
        int bits = 64 - Long.numberOfLeadingZeros(in.size - 1) - 12;
        return bits <= ChunkAddress.CHUNK_FORMAT_BLKBITS_MASK ? bits : baseBits;
    }

    private static void writeInode(ByteBuffer buf, InodePlan p, int chunkBits) {
        var in = p.inode;
        int off = (int) p.offset;
        FileType type = in.type();
        long iu;
        if (type == FileType.REGULAR) {
            iu = ChunkAddress.CHUNK_FORMAT_INDEXES | kernelChunkBits(in, chunkBits);
        } else if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
            iu = in.rdev & 0xFFFF_FFFFL;
        } else if (p.plainBlocks > 0) {
            iu = p.firstBlock;
        } else {
            iu = 0;
        }
        new ExtendedInode(buf, off).writeTo(p.layout, InlineXattrs.icount(p.xattrSize), in.mode, p.size, iu, p.ino,
                in.uid & 0xFFFF_FFFFL, in.gid & 0xFFFF_FFFFL, in.mtimeSec, in.mtimeNsec, p.nlink);
        if (p.xattrSize > 0) {
            InlineXattrs.writeTo(buf, off + ExtendedInode.SIZE, in.xattrs);
        }
        int dataOff = off + ExtendedInode.SIZE + p.xattrSize;
        if (type == FileType.REGULAR) {
            int at = (dataOff + 7) & ~7;
            for (ChunkRef c : in.chunks) {
                ChunkAddress.wrap(buf, at).writeTo(c.blobIndex(), c.info().index(),
                        c.info().uncompressedOffset() / BLOCK);
                at += ChunkAddress.SIZE;
            }
        } else if (type == FileType.DIRECTORY) {
            int nb = p.dirBlocks.blockCount();
            for (int b = 0; b < nb; b++) {
                int pos = b < p.plainBlocks ? (int) ((p.firstBlock + b) * BLOCK) : dataOff;
                p.dirBlocks.writeBlock(buf, pos, b);
            }
        } else if (type == FileType.SYMLINK) {
            byte[] t = in.symlinkTarget;
            int nb = (t.length + BLOCK - 1) / BLOCK;
            for (int b = 0; b < nb; b++) {
                int pos = b < p.plainBlocks ? (int) ((p.firstBlock + b) * BLOCK) : dataOff;
                buf.put(pos, t, b * BLOCK, Math.min(BLOCK, t.length - b * BLOCK));
            }
        }
    }
}
