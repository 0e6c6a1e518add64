package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;

/**
 * EROFS directory entry (spec 3.10), 12 bytes; a directory block holds n dirents followed by their names.
 *
 * <pre>
 * off size field
 *   0  u64 e_nid
 *   8  u16 e_nameoff (offset of the name inside the block)
 *  10  u8  e_file_type (FileType.direntType)
 *  11  u8  reserved
 * </pre>
 */
final class Dirent extends LeStruct {
    static final int SIZE = 12;
    static final int NID_OFFSET = 0;
    static final int NAMEOFF_OFFSET = NID_OFFSET + 8;
    static final int FILE_TYPE_OFFSET = NAMEOFF_OFFSET + 2;
    static final int RESERVED_OFFSET = FILE_TYPE_OFFSET + 1;

    private Dirent(ByteBuffer buf, int base) {
        super(buf, base, SIZE);
    }

    /** Dirent {@code index} of the block starting at {@code blockStart}. */
    static Dirent wrap(ByteBuffer buf, int blockStart, int index) {
        return new Dirent(buf, blockStart + index * SIZE);
    }

    long nid() { return u64(NID_OFFSET); }
    int nameoff() { return u16(NAMEOFF_OFFSET); }
    int fileType() { return u8(FILE_TYPE_OFFSET); }

    void writeTo(long nid, int nameoff, int fileType) {
        put64(NID_OFFSET, nid);
        put16(NAMEOFF_OFFSET, nameoff);
        put8(FILE_TYPE_OFFSET, fileType);
    }
}
