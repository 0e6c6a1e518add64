package dev.nydus4j.rafs.v6;

import dev.nydus4j.rafs.tree.ChunkRef;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects the bootstrap chunk table (spec 3.15): one record per distinct (digest, blob index), sorted by digest
 * bytes then blob index, {@code file_offset} of the last use. Also enforces what readers rely on: one chunk per
 * (digest, blob) and one digest per (blob, chunk index).
 */
final class ChunkTableBuilder {
    private record DigestKey(byte[] digest, int blobIndex) implements Comparable<DigestKey> {
        @Override
        public int compareTo(DigestKey o) {
            int c = Arrays.compareUnsigned(digest, o.digest);
            return c != 0 ? c : Integer.compare(blobIndex, o.blobIndex);
        }
    }

    private record IndexKey(int blobIndex, int chunkIndex) {
    }

    private final TreeMap<DigestKey, ChunkRef> records = new TreeMap<>();
    private final Map<IndexKey, byte[]> digestOfIndex = new HashMap<>();

    void add(ChunkRef c, String path) {
        DigestKey k = new DigestKey(c.digest(), c.blobIndex());
        ChunkRef prev = records.put(k, c);
        if (prev != null && !prev.info().equals(c.info())) {
            throw new IllegalArgumentException("chunk at offset " + c.fileOffset() + " of '" + path + "' has the same"
                    + " digest as another chunk of blob " + c.blobIndex() + " but a different location (" + prev.info()
                    + " vs " + c.info() + "); chunks of one blob must be deduplicated by digest");
        }
        byte[] other = digestOfIndex.putIfAbsent(new IndexKey(c.blobIndex(), c.info().index()), c.digest());
        if (other != null && !Arrays.equals(other, c.digest())) {
            throw new IllegalArgumentException("chunk at offset " + c.fileOffset() + " of '" + path + "' reuses"
                    + " chunk index " + c.info().index() + " of blob " + c.blobIndex() + " with a different digest");
        }
    }

    int count() {
        return records.size();
    }

    void writeTo(ByteBuffer buf, long offset) {
        int pos = Math.toIntExact(offset);
        for (ChunkRef c : records.values()) {
            ChunkRecord.wrap(buf, pos).writeFrom(c.digest(), c.blobIndex(), c.info(), c.fileOffset());
            pos += ChunkRecord.SIZE;
        }
    }
}
