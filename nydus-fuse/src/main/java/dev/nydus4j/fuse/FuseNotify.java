package dev.nydus4j.fuse;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Notifications the daemon sends unasked (an out header with unique 0 and the code in {@code error}):
 * FUSE_NOTIFY_INVAL_INODE ({@code struct fuse_notify_inval_inode_out}: ino u64, off i64, len i64) drops a node's
 * cached attributes and, for a directory, its cached listing; FUSE_NOTIFY_INVAL_ENTRY
 * ({@code struct fuse_notify_inval_entry_out}: parent u64, namelen u32, flags u32, then the name and a NUL) drops
 * one cached name, positive or negative. Both are how a sub-image mounted or unmounted through the API shows at
 * once although entries are cached for a day. FUSE_NOTIFY_RESEND (no body; Linux 6.9 on) puts the requests that
 * were read from the device but never answered back in the queue: how a daemon that took a session over answers
 * what its dead predecessor had read ({@code --failover-policy resend}).
 */
final class FuseNotify {
    static final int INVAL_INODE = 2;
    static final int INVAL_ENTRY = 3;
    static final int RESEND = 7;

    private FuseNotify() {
    }

    /** @return the message length */
    static int invalInode(ByteBuffer out, long nodeId) {
        int len = FuseOutHeader.SIZE + 24;
        FuseOutHeader.put(out, len, INVAL_INODE, 0);
        out.putLong(FuseOutHeader.SIZE, nodeId);
        out.putLong(FuseOutHeader.SIZE + 8, 0); // from offset 0 ...
        out.putLong(FuseOutHeader.SIZE + 16, 0); // ... to the end (len <= 0)
        return len;
    }

    /** @return the message length */
    static int invalEntry(ByteBuffer out, long parent, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int len = FuseOutHeader.SIZE + 16 + n.length + 1;
        FuseOutHeader.put(out, len, INVAL_ENTRY, 0);
        out.putLong(FuseOutHeader.SIZE, parent);
        out.putInt(FuseOutHeader.SIZE + 8, n.length);
        out.putInt(FuseOutHeader.SIZE + 12, 0);
        out.put(FuseOutHeader.SIZE + 16, n);
        out.put(FuseOutHeader.SIZE + 16 + n.length, (byte) 0);
        return len;
    }

    /** @return the message length */
    static int resend(ByteBuffer out) {
        FuseOutHeader.put(out, FuseOutHeader.SIZE, RESEND, 0);
        return FuseOutHeader.SIZE;
    }
}
