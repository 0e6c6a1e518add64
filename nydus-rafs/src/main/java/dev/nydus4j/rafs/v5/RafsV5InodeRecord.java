package dev.nydus4j.rafs.v5;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Fixed part of a RAFS v5 inode record (RAFS spec 5.6), 128 bytes, followed by name, symlink target, xattr
 * table and chunk records (all 8-aligned).
 *
 * <pre>
 * off  size  field
 *   0  [32]  i_digest
 *  32  u64   i_parent
 *  40  u64   i_ino
 *  48  u32   i_uid
 *  52  u32   i_gid
 *  56  u32   i_projid
 *  60  u32   i_mode
 *  64  u64   i_size
 *  72  u64   i_blocks
 *  80  u64   i_flags (0x1 SYMLINK, 0x2 HARDLINK, 0x4 XATTR, 0x8 HAS_HOLE)
 *  88  u32   i_nlink
 *  92  u32   i_child_index
 *  96  u32   i_child_count
 * 100  u16   i_name_size
 * 102  u16   i_symlink_size
 * 104  u32   i_rdev
 * 108  u32   i_mtime_nsec
 * 112  u64   i_mtime
 * 120  [8]   reserved
 * </pre>
 * A flyweight: {@link #at} repositions it; not thread-safe.
 */
final class RafsV5InodeRecord {
    static final int SIZE = 128;
    static final int DIGEST_OFFSET = 0;
    static final int PARENT_OFFSET = DIGEST_OFFSET + 32;
    static final int INO_OFFSET = PARENT_OFFSET + 8;
    static final int UID_OFFSET = INO_OFFSET + 8;
    static final int GID_OFFSET = UID_OFFSET + 4;
    static final int PROJID_OFFSET = GID_OFFSET + 4;
    static final int MODE_OFFSET = PROJID_OFFSET + 4;
    static final int SIZE_OFFSET = MODE_OFFSET + 4;
    static final int BLOCKS_OFFSET = SIZE_OFFSET + 8;
    static final int FLAGS_OFFSET = BLOCKS_OFFSET + 8;
    static final int NLINK_OFFSET = FLAGS_OFFSET + 8;
    static final int CHILD_INDEX_OFFSET = NLINK_OFFSET + 4;
    static final int CHILD_COUNT_OFFSET = CHILD_INDEX_OFFSET + 4;
    static final int NAME_SIZE_OFFSET = CHILD_COUNT_OFFSET + 4;
    static final int SYMLINK_SIZE_OFFSET = NAME_SIZE_OFFSET + 2;
    static final int RDEV_OFFSET = SYMLINK_SIZE_OFFSET + 2;
    static final int MTIME_NSEC_OFFSET = RDEV_OFFSET + 4;
    static final int MTIME_OFFSET = MTIME_NSEC_OFFSET + 4;
    static final int RESERVED_OFFSET = MTIME_OFFSET + 8;

    static final long FLAG_SYMLINK = 0x1;
    static final long FLAG_HARDLINK = 0x2;
    static final long FLAG_XATTR = 0x4;
    static final long FLAG_HAS_HOLE = 0x8;
    static final long KNOWN_FLAGS = 0xF;

    private final ByteBuffer buf;
    private int base;

    RafsV5InodeRecord(ByteBuffer image) {
        this.buf = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    RafsV5InodeRecord at(int offset) {
        this.base = offset;
        return this;
    }

    int offset() {
        return base;
    }

    byte[] digest() {
        byte[] d = new byte[32];
        buf.get(base + DIGEST_OFFSET, d);
        return d;
    }

    long parent() {
        return buf.getLong(base + PARENT_OFFSET);
    }

    long ino() {
        return buf.getLong(base + INO_OFFSET);
    }

    int uid() {
        return buf.getInt(base + UID_OFFSET);
    }

    int gid() {
        return buf.getInt(base + GID_OFFSET);
    }

    int mode() {
        return buf.getInt(base + MODE_OFFSET);
    }

    long size() {
        return buf.getLong(base + SIZE_OFFSET);
    }

    long flags() {
        return buf.getLong(base + FLAGS_OFFSET);
    }

    long nlink() {
        return Integer.toUnsignedLong(buf.getInt(base + NLINK_OFFSET));
    }

    long childIndex() {
        return Integer.toUnsignedLong(buf.getInt(base + CHILD_INDEX_OFFSET));
    }

    long childCount() {
        return Integer.toUnsignedLong(buf.getInt(base + CHILD_COUNT_OFFSET));
    }

    int nameSize() {
        return Short.toUnsignedInt(buf.getShort(base + NAME_SIZE_OFFSET));
    }

    int symlinkSize() {
        return Short.toUnsignedInt(buf.getShort(base + SYMLINK_SIZE_OFFSET));
    }

    int rdev() {
        return buf.getInt(base + RDEV_OFFSET);
    }

    int mtimeNsec() {
        return buf.getInt(base + MTIME_NSEC_OFFSET);
    }

    long mtime() {
        return buf.getLong(base + MTIME_OFFSET);
    }

    boolean hasFlag(long flag) {
        return (flags() & flag) != 0;
    }

    /** Writes the fixed 128 bytes of {@code p} at the current position (the reserved bytes stay zero). */
    void write(RafsV5InodePlan p) {
        buf.put(base + DIGEST_OFFSET, p.digest);
        buf.putLong(base + PARENT_OFFSET, p.parentIno);
        buf.putLong(base + INO_OFFSET, p.ino);
        buf.putInt(base + UID_OFFSET, p.inode.uid);
        buf.putInt(base + GID_OFFSET, p.inode.gid);
        buf.putInt(base + PROJID_OFFSET, 0);
        buf.putInt(base + MODE_OFFSET, p.inode.mode);
        buf.putLong(base + SIZE_OFFSET, p.size);
        buf.putLong(base + BLOCKS_OFFSET, p.blocks);
        buf.putLong(base + FLAGS_OFFSET, p.flags);
        buf.putInt(base + NLINK_OFFSET, (int) p.nlink);
        buf.putInt(base + CHILD_INDEX_OFFSET, (int) p.childIndex);
        buf.putInt(base + CHILD_COUNT_OFFSET, (int) p.childCount);
        buf.putShort(base + NAME_SIZE_OFFSET, (short) p.name.length);
        buf.putShort(base + SYMLINK_SIZE_OFFSET, (short) (p.inode.symlinkTarget == null ? 0 : p.inode.symlinkTarget.length));
        buf.putInt(base + RDEV_OFFSET, p.rdev);
        buf.putInt(base + MTIME_NSEC_OFFSET, p.inode.mtimeNsec);
        buf.putLong(base + MTIME_OFFSET, p.inode.mtimeSec);
    }
}
