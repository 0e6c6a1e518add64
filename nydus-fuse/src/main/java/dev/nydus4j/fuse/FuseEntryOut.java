package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_entry_out} (128 bytes: nodeid, generation, entry_valid, attr_valid u64, entry_valid_nsec,
 * attr_valid_nsec u32, then a {@link FuseAttr}), the answer to LOOKUP and the head of each READDIRPLUS entry; and
 * {@code struct fuse_attr_out} (104 bytes: attr_valid u64, attr_valid_nsec u32, dummy u32, a {@link FuseAttr}), the
 * answer to GETATTR. Node id 0 is a negative entry, cached for {@code entry_valid} as well.
 */
final class FuseEntryOut {
    static final int SIZE = 40 + FuseAttr.SIZE;
    static final int ATTR_OUT_SIZE = 16 + FuseAttr.SIZE;

    private FuseEntryOut() {
    }

    static void put(ByteBuffer out, int o, long nodeId, long validSecs, FsOps.Stat s) {
        out.putLong(o, nodeId);
        out.putLong(o + 8, 0); // generation: node ids are never reused for another inode
        out.putLong(o + 16, validSecs);
        out.putLong(o + 24, validSecs);
        out.putInt(o + 32, 0);
        out.putInt(o + 36, 0);
        if (s == null) {
            for (int i = 0; i < FuseAttr.SIZE; i += 8) {
                out.putLong(o + 40 + i, 0);
            }
        } else {
            FuseAttr.put(out, o + 40, s);
        }
    }

    static void putAttrOut(ByteBuffer out, int o, long validSecs, FsOps.Stat s) {
        out.putLong(o, validSecs);
        out.putInt(o + 8, 0);
        out.putInt(o + 12, 0);
        FuseAttr.put(out, o + 16, s);
    }
}
