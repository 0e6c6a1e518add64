package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The bootstrap chunk table (spec 3.15) indexed by the chunk-address key {@code (blob_index, chunk_index,
 * blk_addr)} (checklist 3.16 item 4). Immutable after {@link #read}.
 */
final class ChunkTable {
    /** Chunk-address key; a plain class rather than a record so hashing needs no bootstrap method at first use. */
    static final class Key {
        final int blobIndex;
        final int chunkIndex;
        final long blkAddr;

        Key(int blobIndex, int chunkIndex, long blkAddr) {
            this.blobIndex = blobIndex;
            this.chunkIndex = chunkIndex;
            this.blkAddr = blkAddr;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.blobIndex == blobIndex && k.chunkIndex == chunkIndex && k.blkAddr == blkAddr;
        }

        @Override
        public int hashCode() {
            return (blobIndex * 31 + chunkIndex) * 31 + Long.hashCode(blkAddr);
        }
    }

    private final Map<Key, ChunkRecord> byKey;
    /** The records in table order. */
    private final ChunkRecord[] records;

    private ChunkTable(Map<Key, ChunkRecord> byKey, ChunkRecord[] records) {
        this.byKey = byKey;
        this.records = records;
    }

    static ChunkTable read(ByteBuffer file, long offset, long size, List<BlobInfo> blobs, String resource)
            throws CorruptImageException {
        int n = (int) (size / ChunkRecord.SIZE);
        Map<Key, ChunkRecord> map = new HashMap<>(Math.max(16, n * 2));
        ChunkRecord[] records = new ChunkRecord[n];
        for (int i = 0; i < n; i++) {
            int at = (int) offset + i * ChunkRecord.SIZE;
            ChunkRecord r = ChunkRecord.wrap(file, at);
            records[i] = r;
            r.validate(resource, 0);
            if (r.blobIndex() >= blobs.size()) {
                throw new CorruptImageException(resource, at + ChunkRecord.BLOB_INDEX_OFFSET, "chunk table record "
                        + i + ": blob_index expected < " + blobs.size() + ", found " + r.blobIndex());
            }
            BlobInfo blob = blobs.get((int) r.blobIndex());
            if (r.index() >= blob.chunkCount()) {
                throw new CorruptImageException(resource, at + ChunkRecord.INDEX_OFFSET, "chunk table record " + i
                        + ": index expected < chunk_count " + blob.chunkCount() + " of blob " + blob.blobId()
                        + ", found " + r.index());
            }
            long uo = r.uncompressedOffset();
            if (uo % ErofsSuperBlock.BLOCK_SIZE != 0 || uo + r.uncompressedSize() > blob.uncompressedSize()) {
                throw new CorruptImageException(resource, at + ChunkRecord.UNCOMPRESSED_OFFSET_OFFSET,
                        "chunk table record " + i + ": uncompressed range expected 4096-aligned inside the blob's "
                                + blob.uncompressedSize() + " bytes, found offset " + uo + " size "
                                + r.uncompressedSize());
            }
            long co = r.compressedOffset();
            if (blob.compressedSize() > 0 && co + r.compressedSize() > blob.compressedSize()) {
                throw new CorruptImageException(resource, at + ChunkRecord.COMPRESSED_OFFSET_OFFSET,
                        "chunk table record " + i + ": compressed range expected inside the blob's "
                                + blob.compressedSize() + " bytes, found offset " + co + " size " + r.compressedSize());
            }
            Key key = new Key((int) r.blobIndex(), (int) r.index(), uo / ErofsSuperBlock.BLOCK_SIZE);
            if (map.put(key, r) != null) {
                throw new CorruptImageException(resource, at, "chunk table record " + i + ": key (blob "
                        + key.blobIndex + ", index " + key.chunkIndex + ", blkaddr " + key.blkAddr
                        + ") expected unique, found twice");
            }
        }
        return new ChunkTable(map, records);
    }

    /** The record for a chunk address, or null. */
    ChunkRecord find(int blobIndex, int chunkIndex, long blkAddr) {
        return byKey.get(new Key(blobIndex, chunkIndex, blkAddr));
    }

    /** Visits the records in table order. */
    void forEach(java.util.function.Consumer<ChunkRecord> visitor) {
        for (ChunkRecord r : records) {
            visitor.accept(r);
        }
    }

    int size() {
        return byKey.size();
    }
}
