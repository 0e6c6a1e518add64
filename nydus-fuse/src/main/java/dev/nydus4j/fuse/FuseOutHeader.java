package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_out_header} (16 bytes), which starts every reply written to /dev/fuse: len u32 (of the whole
 * reply), error i32 (0 or a negative errno), unique u64 (the request's). Notifications carry unique 0 and the
 * notify code in {@code error}. The reply's own structure follows at {@link #SIZE}.
 */
final class FuseOutHeader {
    static final int SIZE = 16;

    private FuseOutHeader() {
    }

    static void put(ByteBuffer out, int len, int error, long unique) {
        out.putInt(0, len);
        out.putInt(4, error);
        out.putLong(8, unique);
    }
}
