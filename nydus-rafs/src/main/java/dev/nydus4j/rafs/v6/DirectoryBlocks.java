package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Packing of one directory's sorted entries (including {@code .} and {@code ..}) into 4096-byte dirent blocks
 * (spec 3.10, writer rule): entries are appended to the current block while {@code used + 12 + len(name) <= 4096}.
 */
final class DirectoryBlocks {
    /** One entry to emit; {@code target} is resolved to a nid and a type at write time. */
    record Entry(byte[] name, InodePlan target) {
    }

    private final List<Entry> entries;
    /** Index of the first entry of each block, plus entries.size() as sentinel. */
    private final int[] blockStarts;
    private final long size;

    DirectoryBlocks(List<Entry> sortedEntries) {
        this.entries = sortedEntries;
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        int used = 0;
        for (int i = 0; i < sortedEntries.size(); i++) {
            int need = Dirent.SIZE + sortedEntries.get(i).name().length;
            if (used + need > ErofsSuperBlock.BLOCK_SIZE) {
                starts.add(i);
                used = 0;
            }
            used += need;
        }
        starts.add(sortedEntries.size());
        blockStarts = starts.stream().mapToInt(Integer::intValue).toArray();
        size = (long) (blockCount() - 1) * ErofsSuperBlock.BLOCK_SIZE + used;
    }

    int blockCount() {
        return blockStarts.length - 1;
    }

    /** i_size: full blocks plus the bytes used in the last block. */
    long size() {
        return size;
    }

    /** Writes block {@code b} at {@code pos} (the rest of the block stays zero). */
    void writeBlock(ByteBuffer buf, int pos, int b) {
        int from = blockStarts[b];
        int to = blockStarts[b + 1];
        int nameoff = (to - from) * Dirent.SIZE;
        for (int i = from; i < to; i++) {
            Entry e = entries.get(i);
            Dirent.wrap(buf, pos, i - from).writeTo(e.target().nid, nameoff, e.target().inode.type().direntType());
            buf.put(pos + nameoff, e.name());
            nameoff += e.name().length;
        }
    }
}
