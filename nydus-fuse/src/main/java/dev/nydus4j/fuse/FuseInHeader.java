package dev.nydus4j.fuse;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * {@code struct fuse_in_header} (40 bytes), which starts every request read from /dev/fuse: len u32, opcode u32,
 * unique u64, nodeid u64, uid u32, gid u32, pid u32, total_extlen u16, padding u16. The request's own structure
 * follows at {@link #SIZE}. Reads from a little-endian buffer holding one whole request.
 */
final class FuseInHeader {
    static final int SIZE = 40;

    private FuseInHeader() {
    }

    static int len(ByteBuffer in) {
        return in.getInt(0);
    }

    static int opcode(ByteBuffer in) {
        return in.getInt(4);
    }

    static long unique(ByteBuffer in) {
        return in.getLong(8);
    }

    static long nodeId(ByteBuffer in) {
        return in.getLong(16);
    }

    /** A NUL-terminated name at {@code offset} (LOOKUP's name, GETXATTR's after its fixed part) as UTF-8. */
    static String name(ByteBuffer in, int offset, int end) {
        int e = offset;
        while (e < end && in.get(e) != 0) {
            e++;
        }
        byte[] b = new byte[e - offset];
        in.get(offset, b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
