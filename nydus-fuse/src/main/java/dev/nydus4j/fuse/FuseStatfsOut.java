package dev.nydus4j.fuse;

import dev.nydus4j.api.RafsFileSystem;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_statfs_out} = {@code struct fuse_kstatfs} (80 bytes): blocks, bfree, bavail, files, ffree
 * (u64 each), bsize, namelen, frsize, padding, spare[6] (u32 each). Nothing is free on a read-only image.
 */
final class FuseStatfsOut {
    static final int SIZE = 80;
    private static final int NAME_MAX = 255;

    private FuseStatfsOut() {
    }

    static void put(ByteBuffer out, int o, RafsFileSystem.FsStats s) {
        for (int i = 0; i < SIZE; i += 8) {
            out.putLong(o + i, 0);
        }
        out.putLong(o, s.totalBlocks());
        out.putLong(o + 24, s.inodes());
        out.putInt(o + 40, FsOps.BLOCK_SIZE);
        out.putInt(o + 44, NAME_MAX);
        out.putInt(o + 48, FsOps.BLOCK_SIZE);
    }
}
