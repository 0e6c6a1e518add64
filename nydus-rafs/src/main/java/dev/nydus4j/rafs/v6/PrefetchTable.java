package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * RAFS v6 prefetch table (spec 3.6): {@code size / 4} u32 nids of files or directories to fetch eagerly; a 0 entry
 * ends the list early. Placed right after the blob table (8-aligned).
 */
final class PrefetchTable {
    static final int ENTRY_SIZE = 4;

    private PrefetchTable() {
    }

    /** The nids before the first 0 entry of the table at {@code [offset, offset + size)}. */
    static long[] read(ByteBuffer file, long offset, long size) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) (size / ENTRY_SIZE);
        long[] out = new long[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            long nid = b.getInt((int) offset + i * ENTRY_SIZE) & 0xFFFF_FFFFL;
            if (nid == 0) {
                break;
            }
            out[count++] = nid;
        }
        return java.util.Arrays.copyOf(out, count);
    }

    static void writeTo(ByteBuffer file, long offset, long[] nids) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < nids.length; i++) {
            b.putInt((int) offset + i * ENTRY_SIZE, (int) nids[i]);
        }
    }
}
