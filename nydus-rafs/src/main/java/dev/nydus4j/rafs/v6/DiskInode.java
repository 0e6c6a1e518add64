package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;

import java.nio.ByteBuffer;

/**
 * Common view of the two EROFS inode formats (spec 3.8): {@link CompactInode} (32 bytes) and
 * {@link ExtendedInode} (64 bytes). Both start with {@code u16 i_format, u16 i_xattr_icount, u16 i_mode}.
 */
abstract class DiskInode extends LeStruct {
    static final int FORMAT_OFFSET = 0;
    static final int XATTR_ICOUNT_OFFSET = FORMAT_OFFSET + 2;
    static final int MODE_OFFSET = XATTR_ICOUNT_OFFSET + 2;

    /** i_format bit 0: 1 = extended. */
    static final int FORMAT_EXTENDED = 0x1;
    static final int LAYOUT_SHIFT = 1;
    static final int LAYOUT_MASK = 0x7;
    static final int LAYOUT_FLAT_PLAIN = 0;
    static final int LAYOUT_FLAT_INLINE = 2;
    static final int LAYOUT_CHUNK_BASED = 4;
    static final int FORMAT_RESERVED_MASK = 0xFFF0;
    /** Inode slots are 32 bytes: nid = (offset - meta base) / 32. */
    static final int NID_SHIFT = 5;

    DiskInode(ByteBuffer buf, int base, int size) {
        super(buf, base, size);
    }

    /** Wraps the inode at {@code offset}, choosing the format from bit 0 of i_format. */
    static DiskInode wrap(ByteBuffer file, int offset, String resource) throws CorruptImageException {
        if (offset < 0 || offset > file.limit() - CompactInode.SIZE) {
            throw new CorruptImageException(resource, offset, "inode expected inside the file of "
                    + file.limit() + " bytes");
        }
        int format = file.getShort(offset) & FORMAT_EXTENDED;
        if (format == FORMAT_EXTENDED) {
            if (offset > file.limit() - ExtendedInode.SIZE) {
                throw new CorruptImageException(resource, offset, "extended inode (64 bytes) crosses the end of file");
            }
            return new ExtendedInode(file, offset);
        }
        return new CompactInode(file, offset);
    }

    abstract int inodeSize();

    int format() { return u16(FORMAT_OFFSET); }
    int xattrIcount() { return u16(XATTR_ICOUNT_OFFSET); }
    int mode() { return u16(MODE_OFFSET); }

    int layout() {
        return (format() >> LAYOUT_SHIFT) & LAYOUT_MASK;
    }

    /** Bytes of inline xattrs after the inode (spec 3.9). */
    int xattrSize() {
        int c = xattrIcount();
        return c == 0 ? 0 : XattrIbodyHeader.SIZE + 4 * (c - 1);
    }

    abstract long size();
    abstract long iu();
    abstract long ino();
    abstract long uid();
    abstract long gid();
    abstract long mtime();
    abstract int mtimeNsec();
    abstract long nlink();

    /** Format bits, type and nlink (checklist 3.16 item 5, the per-inode part). */
    void validate(String resource) throws CorruptImageException {
        if ((format() & FORMAT_RESERVED_MASK) != 0) {
            throw new CorruptImageException(resource, base, String.format(
                    "i_format expected bits 4..15 clear, found 0x%04x", format()));
        }
        if (FileType.fromMode(mode()) == null) {
            throw new CorruptImageException(resource, base + MODE_OFFSET, String.format(
                    "i_mode expected a dir/reg/lnk/chr/blk/fifo/sock type, found 0%o", mode()));
        }
        if (nlink() == 0) {
            throw new CorruptImageException(resource, base, "i_nlink expected non-zero, found 0");
        }
    }
}
