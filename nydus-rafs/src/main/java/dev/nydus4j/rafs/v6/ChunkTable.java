package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The bootstrap chunk table (spec 3.15) indexed by the chunk-address key {@code (blob_index, chunk_index,
 * blk_addr)} (checklist 3.16 item 4). Immutable after {@link #read}; concurrent reads are safe.
 *
 * <p>The key packs into one {@code long} (blob index < 256 in bits 56..63, chunk index < 2^24 in bits 32..55,
 * the u32 block address in bits 0..31), and the index is an open-addressing table of those keys and record
 * positions in primitive arrays: no key, record or map node object per record, which matters for the tens of
 * thousands of records a cold JVM validates at every image open. Record views are made on lookup.
 */
final class ChunkTable {
    private final ByteBuffer file;
    /** Offset of the first record. */
    private final int offset;
    private final int count;
    private final int maxUncompressedSize;
    /** Validates the records and builds the index, once (run by whoever needs it first). */
    private final FutureTask<Index> building;

    /** Open addressing: packed keys and record number + 1 (0 = empty slot). */
    private record Index(long[] keys, int[] slots) {
    }

    private ChunkTable(ByteBuffer file, int offset, int count, int maxUncompressedSize, FutureTask<Index> building) {
        this.file = file;
        this.offset = offset;
        this.count = count;
        this.maxUncompressedSize = maxUncompressedSize;
        this.building = building;
    }

    /** The packed lookup key; each part must be in range (blob < 256, chunk index < 2^24, block address u32). */
    static long key(int blobIndex, long chunkIndex, long blkAddr) {
        return ((long) blobIndex << 56) | (chunkIndex << 32) | blkAddr;
    }

    private static int hash(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Reads and validates the table now (the whole-image reader). */
    static ChunkTable read(ByteBuffer file, long offset, long size, List<BlobInfo> blobs, String resource)
            throws CorruptImageException {
        ChunkTable t = deferred(file, offset, size, blobs, resource);
        t.index();
        return t;
    }

    /**
     * A table whose records are validated and indexed by the first caller that needs them ({@link #find},
     * {@link #validate}); in direct mode, the thread that hands the chunk table to the chunk reader. ~20 000 records
     * take a cold JVM ~30 ms, which would otherwise delay every mount although the first lookups need no chunk. Until
     * then only the largest uncompressed size is known (capped at the format's 16 MiB, so a corrupt record cannot
     * size a buffer); a corrupt table fails every lookup with the same error.
     */
    static ChunkTable deferred(ByteBuffer file, long offset, long size, List<BlobInfo> blobs, String resource) {
        int n = (int) (size / ChunkRecord.SIZE);
        int max = 0;
        for (int i = 0; i < n; i++) {
            long usize = file.getInt((int) offset + i * ChunkRecord.SIZE + ChunkRecord.UNCOMPRESSED_SIZE_OFFSET)
                    & 0xFFFF_FFFFL;
            max = (int) Math.max(max, Math.min(usize, ChunkRecord.MAX_UNCOMPRESSED_SIZE));
        }
        return new ChunkTable(file, (int) offset, n, max,
                new FutureTask<>(() -> build(file, offset, n, blobs, resource)));
    }

    private static Index build(ByteBuffer file, long offset, int n, List<BlobInfo> blobs, String resource)
            throws CorruptImageException {
        int cap = Integer.highestOneBit(Math.max(16, n) * 2 - 1) << 1; // power of two, load factor <= 1/2
        long[] keys = new long[cap];
        int[] slots = new int[cap];
        int mask = cap - 1;
        java.util.Set<List<Long>> unaddressable = null;
        for (int i = 0; i < n; i++) {
            int at = (int) offset + i * ChunkRecord.SIZE;
            ChunkRecord r = ChunkRecord.wrap(file, at);
            r.validate(resource, 0);
            if (r.blobIndex() >= blobs.size()) {
                throw new CorruptImageException(resource, at + ChunkRecord.BLOB_INDEX_OFFSET, "chunk table record "
                        + i + ": blob_index expected < " + blobs.size() + ", found " + r.blobIndex());
            }
            BlobInfo blob = blobs.get((int) r.blobIndex());
            long index = r.index();
            if (index >= blob.chunkCount()) {
                throw new CorruptImageException(resource, at + ChunkRecord.INDEX_OFFSET, "chunk table record " + i
                        + ": index expected < chunk_count " + blob.chunkCount() + " of blob " + blob.blobId()
                        + ", found " + index);
            }
            long uo = r.uncompressedOffset();
            long usize = r.uncompressedSize();
            if (uo % ErofsSuperBlock.BLOCK_SIZE != 0 || uo + usize > blob.uncompressedSize()) {
                throw new CorruptImageException(resource, at + ChunkRecord.UNCOMPRESSED_OFFSET_OFFSET,
                        "chunk table record " + i + ": uncompressed range expected 4096-aligned inside the blob's "
                                + blob.uncompressedSize() + " bytes, found offset " + uo + " size " + usize);
            }
            long co = r.compressedOffset();
            if (blob.compressedSize() > 0 && co + r.compressedSize() > blob.compressedSize()) {
                throw new CorruptImageException(resource, at + ChunkRecord.COMPRESSED_OFFSET_OFFSET,
                        "chunk table record " + i + ": compressed range expected inside the blob's "
                                + blob.compressedSize() + " bytes, found offset " + co + " size " + r.compressedSize());
            }
            long blk = uo / ErofsSuperBlock.BLOCK_SIZE;
            if (index > ChunkAddress.MAX_CHUNK_INDEX || blk > 0xFFFF_FFFFL) {
                // no chunk address can name this record (24-bit chunk index, u32 block address): it stays out of
                // the index, only its uniqueness is checked
                if (unaddressable == null) {
                    unaddressable = new java.util.HashSet<>();
                }
                if (!unaddressable.add(List.of(r.blobIndex(), index, blk))) {
                    throw new CorruptImageException(resource, at, "chunk table record " + i + ": key (blob "
                            + r.blobIndex() + ", index " + index + ", blkaddr " + blk
                            + ") expected unique, found twice");
                }
                continue;
            }
            long key = key((int) r.blobIndex(), index, blk);
            int h = hash(key, mask);
            while (slots[h] != 0 && keys[h] != key) {
                h = (h + 1) & mask;
            }
            if (slots[h] != 0) {
                throw new CorruptImageException(resource, at, "chunk table record " + i + ": key (blob "
                        + r.blobIndex() + ", index " + index + ", blkaddr " + blk + ") expected unique, found twice");
            }
            keys[h] = key;
            slots[h] = i + 1;
        }
        return new Index(keys, slots);
    }

    /** The index, built by this thread unless another one is building it or has built it. */
    private Index index() throws CorruptImageException {
        building.run(); // no-op when already run or running
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return building.get();
                } catch (InterruptedException e) {
                    interrupted = true; // finish waiting: the build is short and the caller needs the answer
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof CorruptImageException c) {
                        // a fresh exception per caller: one instance thrown on many threads would collect their
                        // suppressed exceptions and stack traces
                        throw new CorruptImageException(c.resource(), c.offset(), c.detail(), c);
                    }
                    throw new IllegalStateException("validating the chunk table failed", e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Validates the records now unless done (or in progress elsewhere: then waits); throws what a lookup would. */
    void validate() throws CorruptImageException {
        index();
    }

    /** The record for a chunk address, or null; validates the table first if not yet done. */
    ChunkRecord find(int blobIndex, int chunkIndex, long blkAddr) throws CorruptImageException {
        if (blobIndex < 0 || blobIndex > 0xFF || chunkIndex < 0 || chunkIndex > ChunkAddress.MAX_CHUNK_INDEX
                || blkAddr < 0 || blkAddr > 0xFFFF_FFFFL) {
            return null;
        }
        Index ix = index();
        long[] keys = ix.keys();
        int[] slots = ix.slots();
        long key = key(blobIndex, chunkIndex, blkAddr);
        int mask = keys.length - 1;
        for (int h = hash(key, mask); slots[h] != 0; h = (h + 1) & mask) {
            if (keys[h] == key) {
                return ChunkRecord.wrap(file, offset + (slots[h] - 1) * ChunkRecord.SIZE);
            }
        }
        return null;
    }

    /** View of record {@code i} (0 <= i < {@link #size()}), in table order; not validated before {@link #validate}. */
    ChunkRecord record(int i) {
        return ChunkRecord.wrap(file, offset + i * ChunkRecord.SIZE);
    }

    /** Largest uncompressed size of a record, at most 16 MiB (0 when empty). */
    int maxUncompressedSize() {
        return maxUncompressedSize;
    }

    int size() {
        return count;
    }
}
