package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;

/**
 * EROFS compact inode (spec 3.8), 32 bytes. Read only: the writer always emits {@link ExtendedInode}s. Compact
 * inodes have no mtime of their own (the kernel shows the superblock build time; nydusd shows 0).
 *
 * <pre>
 * off size field              off size field
 *   0  u16 i_format            16  u32 i_u (raw_blkaddr / chunk format / rdev)
 *   2  u16 i_xattr_icount      20  u32 i_ino
 *   4  u16 i_mode              24  u16 i_uid
 *   6  u16 i_nlink             26  u16 i_gid
 *   8  u32 i_size              28  [4] reserved
 *  12  u32 reserved
 * </pre>
 */
final class CompactInode extends DiskInode {
    static final int SIZE = 32;

    static final int NLINK_OFFSET = MODE_OFFSET + 2;
    static final int SIZE_OFFSET = NLINK_OFFSET + 2;
    static final int RESERVED_OFFSET = SIZE_OFFSET + 4;
    static final int U_OFFSET = RESERVED_OFFSET + 4;
    static final int INO_OFFSET = U_OFFSET + 4;
    static final int UID_OFFSET = INO_OFFSET + 4;
    static final int GID_OFFSET = UID_OFFSET + 2;
    static final int RESERVED2_OFFSET = GID_OFFSET + 2;

    CompactInode(ByteBuffer file, int base) {
        super(file, base, SIZE);
    }

    @Override int inodeSize() { return SIZE; }
    @Override long size() { return u32(SIZE_OFFSET); }
    @Override long iu() { return u32(U_OFFSET); }
    @Override long ino() { return u32(INO_OFFSET); }
    @Override long uid() { return u16(UID_OFFSET); }
    @Override long gid() { return u16(GID_OFFSET); }
    @Override long mtime() { return 0; }
    @Override int mtimeNsec() { return 0; }
    @Override long nlink() { return u16(NLINK_OFFSET); }
}
