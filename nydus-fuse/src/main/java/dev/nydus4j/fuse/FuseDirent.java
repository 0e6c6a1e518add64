package dev.nydus4j.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_dirent} (ino u64, off u64, namelen u32, type u32, the name, padded to 8 bytes), one entry of a
 * READDIR answer; READDIRPLUS entries ({@code struct fuse_direntplus}) put a {@link FuseEntryOut} before it.
 * {@code off} is the offset of the next entry: here the entry's index + 1, so a READDIR at offset n resumes at
 * entry n.
 */
final class FuseDirent {
    static final int HEADER = 24;

    private FuseDirent() {
    }

    /** Bytes one entry takes. */
    static int size(int nameLen, boolean plus) {
        return (plus ? FuseEntryOut.SIZE : 0) + ((HEADER + nameLen + 7) & ~7);
    }

    /** Writes the dirent part at {@code o}; returns the offset after it (padding zeroed). */
    static int put(ByteBuffer out, int o, long ino, long nextOff, int type, byte[] name) {
        out.putLong(o, ino);
        out.putLong(o + 8, nextOff);
        out.putInt(o + 16, name.length);
        out.putInt(o + 20, type);
        out.put(o + HEADER, name);
        int end = o + ((HEADER + name.length + 7) & ~7);
        for (int i = o + HEADER + name.length; i < end; i++) {
            out.put(i, (byte) 0);
        }
        return end;
    }
}
