package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;

/**
 * Decoding and bounded validation of one inode and of one directory's dirent blocks (checklist 3.16 items 5-6),
 * shared by the whole-image {@link TreeWalk} and the on-demand {@link RafsV6DirectReader} so that both check exactly
 * the same things. When an {@link Extents} is given every structure read is registered in it (the whole-image walk
 * later proves that none overlap); the direct reader passes none. Stateless apart from the extents: thread-safe
 * without them (the bootstrap bytes are never written).
 */
final class InodeDecoder {
    static final int BLOCK = ErofsSuperBlock.BLOCK_SIZE;
    static final int MAX_SYMLINK = 4096;

    private final byte[] bytes;
    private final ByteBuffer file;
    private final String resource;
    private final V6Headers h;
    private final ChunkTable chunks;
    /** Null for the direct reader. */
    private final Extents extents;
    final long metaBase;
    final int chunkSize;
    private final int baseChunkBits;

    InodeDecoder(byte[] bytes, String resource, V6Headers h, ChunkTable chunks, Extents extents) {
        this.bytes = bytes;
        this.file = h.file();
        this.resource = resource;
        this.h = h;
        this.chunks = chunks;
        this.extents = extents;
        this.metaBase = h.sb().metaBlkaddr() * BLOCK;
        this.chunkSize = (int) h.ext().chunkSize();
        this.baseChunkBits = Integer.numberOfTrailingZeros(chunkSize) - 12;
    }

    long inodeOffset(long nid, Object path) throws CorruptImageException {
        long max = (bytes.length - metaBase - CompactInode.SIZE) >> DiskInode.NID_SHIFT;
        if (nid < 0 || nid > max) {
            throw new CorruptImageException(resource, -1, "nid " + nid + " of '" + path
                    + "' expected an inode inside the file (max nid " + max + ")");
        }
        return metaBase + (nid << DiskInode.NID_SHIFT);
    }

    /** The on-disk inode {@code nid}, bounds- and format-checked. */
    DiskInode disk(long nid, Object path) throws CorruptImageException {
        int off = (int) inodeOffset(nid, path);
        DiskInode d = DiskInode.wrap(file, off, resource);
        d.validate(resource);
        return d;
    }

    /** The type of inode {@code nid} from its mode, after the bounds and format checks of {@link #disk}. */
    FileType type(long nid, Object path) throws CorruptImageException {
        return FileType.fromMode(disk(nid, path).mode());
    }

    /**
     * Decodes the attributes, inline xattrs, symlink target and chunk list of the validated inode {@code d}
     * ({@code Inode.ino} = nid). Directory entries are not read ({@link #directory}).
     */
    Inode decode(DiskInode d, long nid, Object path) throws CorruptImageException {
        int off = (int) d.offset();
        int xattrOff = off + d.inodeSize();
        int xattrSize = d.xattrSize();
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
                checkAfter(flatEnd(d, dataOff), path);
                break;
            case REGULAR:
                in.size = d.size();
                checkAfter(readChunks(d, dataOff, in, path), path);
                break;
            default:
                if (d.size() != 0) {
                    throw new CorruptImageException(resource, off, type + " '" + path + "' size expected 0,"
                            + " found " + d.size());
                }
                if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
                    in.rdev = (int) d.iu();
                }
                checkAfter(dataOff, path);
        }
        return in;
    }

    /**
     * Reads and checks the dirent blocks of directory {@code d} (size, flat layout blocks inside the metadata area,
     * dirents and names in range, names 1..255 bytes without '/' or NUL, strictly sorted). Nids and types are the
     * caller's to check.
     */
    DirectoryData directory(DiskInode d, Object path) throws CorruptImageException {
        long dataOff = d.offset() + d.inodeSize() + d.xattrSize();
        long size = d.size();
        if (size < 2L * Dirent.SIZE + 3 || size > (long) bytes.length) {
            throw new CorruptImageException(resource, d.offset(), "directory '" + path + "' size expected"
                    + " >= 27 (. and ..) and inside the file, found " + size);
        }
        int nb = (int) ((size + BLOCK - 1) / BLOCK);
        DirectoryData data = new DirectoryData();
        for (int b = 0; b < nb; b++) {
            long[] r = flatBlock(d, dataOff, b, nb, path);
            data.readBlock(file, (int) r[0], (int) r[1], resource, path);
        }
        checkAfter(flatEnd(d, dataOff), path);
        return data;
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
            if (extents != null) {
                extents.add(dataOff, len, new Extents.Label("inline tail of '", path, "'"));
            }
            return new long[] {dataOff, len};
        }
        long blk = d.iu() + b;
        if ((blk + 1) * BLOCK > bytes.length || blk * BLOCK < metaBase) {
            throw new CorruptImageException(resource, d.offset(), "data block " + blk + " of '" + path
                    + "' expected inside the metadata area [" + metaBase / BLOCK + ", " + bytes.length / BLOCK
                    + ")");
        }
        long len = Math.min(BLOCK, size - (long) b * BLOCK);
        if (extents != null) {
            extents.add(blk * BLOCK, BLOCK, new Extents.Label("data block " + b + " of '", path, "'"));
        }
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

    /** Reads the chunk list; returns the end of the chunk address array (dataOff when there is none). */
    private long readChunks(DiskInode d, long dataOff, Inode in, Object path) throws CorruptImageException {
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
        if (size < 0 || size > Long.MAX_VALUE - chunkSize) {
            // i_size is a u64 on disk: from 2^63 on it is negative here and would give no chunks at all
            throw new CorruptImageException(resource, d.offset(), "regular file '" + path + "' size expected"
                    + " 0.." + (Long.MAX_VALUE - chunkSize) + ", found " + Long.toUnsignedString(size));
        }
        long n = (size + chunkSize - 1) / chunkSize;
        long arrayOff = (dataOff + 7) & ~7L;
        if (n > (bytes.length - arrayOff) / ChunkAddress.SIZE) {
            throw new CorruptImageException(resource, arrayOff, "chunk address array of '" + path + "' ("
                    + n + " entries for size " + size + ") expected inside the file");
        }
        if (extents != null) {
            extents.add(arrayOff, n * ChunkAddress.SIZE, new Extents.Label("chunk addresses of '", path, "'"));
        }
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
        return n == 0 ? dataOff : arrayOff + n * ChunkAddress.SIZE;
    }

    /** End of a flat inode's inline tail (FLAT_INLINE), or dataOff (FLAT_PLAIN), once its blocks are checked. */
    private static long flatEnd(DiskInode d, long dataOff) {
        if (d.layout() != DiskInode.LAYOUT_FLAT_INLINE) {
            return dataOff;
        }
        long nb = (d.size() + BLOCK - 1) / BLOCK;
        return dataOff + d.size() - (nb - 1) * BLOCK;
    }

    /**
     * Direct mode's local part of the whole-image zero check, run after an inode's last structure (inode, xattrs,
     * inline tail or chunk addresses) ending at {@code end}: the padding up to the next 32-byte inode slot must be
     * zero, and that slot, unless a block or table starts there, must be zero or hold a valid inode header. A
     * shorter i_size (or a cut tail) leaves chunk addresses or name bytes behind, which this catches where the
     * whole-image reader would report a non-zero gap. Not run by the whole-image walk (its extents do more).
     */
    private void checkAfter(long end, Object path) throws CorruptImageException {
        if (extents != null) {
            return;
        }
        long next = Math.min((end + 31) & ~31L, bytes.length);
        if (tableStartsIn(end, next)) {
            return;
        }
        for (long p = end; p < next; p++) {
            if (bytes[(int) p] != 0) {
                throw new CorruptImageException(resource, p, String.format("byte after '%s' expected 0 (padding up"
                        + " to the next inode slot), found 0x%02x", path, bytes[(int) p] & 0xFF));
            }
        }
        if (next % BLOCK == 0 || next + CompactInode.SIZE > bytes.length
                || tableStartsIn(next, next + CompactInode.SIZE)) {
            return;
        }
        boolean zero = true;
        for (int p = (int) next; p < next + CompactInode.SIZE && zero; p++) {
            zero = bytes[p] == 0;
        }
        if (!zero) {
            try {
                DiskInode.wrap(file, (int) next, resource).validate(resource);
            } catch (CorruptImageException e) {
                throw new CorruptImageException(resource, next, "the slot after '" + path + "' expected zeros or an"
                        + " inode (a shorter size leaves data behind): " + e.getMessage(), e);
            }
        }
    }

    /** Whether a bootstrap table (blob, chunk or prefetch table) starts in {@code [from, to]}. */
    private boolean tableStartsIn(long from, long to) {
        RafsV6ExtSuperBlock ext = h.ext();
        return within(ext.blobTableOffset(), from, to) || within(ext.chunkTableOffset(), from, to)
                || (ext.hasPrefetchTable() && within(ext.prefetchTableOffset(), from, to));
    }

    private static boolean within(long at, long from, long to) {
        return at >= from && at <= to;
    }
}
