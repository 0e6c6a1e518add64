package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_attr} (88 bytes): ino, size, blocks, atime, mtime, ctime (u64 each), atimensec, mtimensec,
 * ctimensec, mode, nlink, uid, gid, rdev, blksize, flags (u32 each). The image keeps one time: it is all three.
 */
final class FuseAttr {
    static final int SIZE = 88;

    private FuseAttr() {
    }

    static void put(ByteBuffer out, int o, FsOps.Stat s) {
        out.putLong(o, s.ino());
        out.putLong(o + 8, s.size());
        out.putLong(o + 16, s.blocks());
        out.putLong(o + 24, s.mtimeSec());
        out.putLong(o + 32, s.mtimeSec());
        out.putLong(o + 40, s.mtimeSec());
        out.putInt(o + 48, s.mtimeNsec());
        out.putInt(o + 52, s.mtimeNsec());
        out.putInt(o + 56, s.mtimeNsec());
        out.putInt(o + 60, s.mode());
        out.putInt(o + 64, s.nlink());
        out.putInt(o + 68, s.uid());
        out.putInt(o + 72, s.gid());
        out.putInt(o + 76, s.rdev());
        out.putInt(o + 80, FsOps.BLOCK_SIZE);
        out.putInt(o + 84, 0);
    }
}
