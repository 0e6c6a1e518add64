package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;

/**
 * EROFS extended inode (spec 3.8), 64 bytes: the only inode format the writer emits.
 *
 * <pre>
 * off size field              off size field
 *   0  u16 i_format            24  u32 i_uid
 *   2  u16 i_xattr_icount      28  u32 i_gid
 *   4  u16 i_mode              32  u64 i_mtime (s)
 *   6  u16 reserved            40  u32 i_mtime_nsec
 *   8  u64 i_size              44  u32 i_nlink
 *  16  u32 i_u                 48 [16] reserved
 *  20  u32 i_ino
 * </pre>
 */
final class ExtendedInode extends DiskInode {
    static final int SIZE = 64;

    static final int RESERVED_OFFSET = MODE_OFFSET + 2;
    static final int SIZE_OFFSET = RESERVED_OFFSET + 2;
    static final int U_OFFSET = SIZE_OFFSET + 8;
    static final int INO_OFFSET = U_OFFSET + 4;
    static final int UID_OFFSET = INO_OFFSET + 4;
    static final int GID_OFFSET = UID_OFFSET + 4;
    static final int MTIME_OFFSET = GID_OFFSET + 4;
    static final int MTIME_NSEC_OFFSET = MTIME_OFFSET + 8;
    static final int NLINK_OFFSET = MTIME_NSEC_OFFSET + 4;
    static final int RESERVED2_OFFSET = NLINK_OFFSET + 4;

    ExtendedInode(ByteBuffer file, int base) {
        super(file, base, SIZE);
    }

    @Override int inodeSize() { return SIZE; }
    @Override long size() { return u64(SIZE_OFFSET); }
    @Override long iu() { return u32(U_OFFSET); }
    @Override long ino() { return u32(INO_OFFSET); }
    @Override long uid() { return u32(UID_OFFSET); }
    @Override long gid() { return u32(GID_OFFSET); }
    @Override long mtime() { return u64(MTIME_OFFSET); }
    @Override int mtimeNsec() { return i32(MTIME_NSEC_OFFSET); }
    @Override long nlink() { return u32(NLINK_OFFSET); }

    void writeTo(int layout, int xattrIcount, int mode, long size, long iu, long ino, long uid, long gid,
                 long mtime, int mtimeNsec, long nlink) {
        put16(FORMAT_OFFSET, FORMAT_EXTENDED | (layout << LAYOUT_SHIFT));
        put16(XATTR_ICOUNT_OFFSET, xattrIcount);
        put16(MODE_OFFSET, mode);
        put64(SIZE_OFFSET, size);
        put32(U_OFFSET, iu);
        put32(INO_OFFSET, ino);
        put32(UID_OFFSET, uid);
        put32(GID_OFFSET, gid);
        put64(MTIME_OFFSET, mtime);
        put32(MTIME_NSEC_OFFSET, mtimeNsec);
        put32(NLINK_OFFSET, nlink);
    }
}
