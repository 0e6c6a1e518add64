package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_open_out} (16 bytes): fh u64, open_flags u32, backing_id/padding u32. The image never changes,
 * so every open keeps the page cache ({@code FOPEN_KEEP_CACHE}); file handles are not used (READ goes by node id).
 */
final class FuseOpenOut {
    static final int SIZE = 16;
    static final int FOPEN_KEEP_CACHE = 1 << 1;

    private FuseOpenOut() {
    }

    static void put(ByteBuffer out, int o) {
        out.putLong(o, 0);
        out.putInt(o + 8, FOPEN_KEEP_CACHE);
        out.putInt(o + 12, 0);
    }
}
