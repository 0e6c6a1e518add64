package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;

/**
 * Header of the inline xattr area that follows an inode (spec 3.9), 12 bytes.
 *
 * <pre>
 * off size field
 *   0  u32 name_filter / reserved (0)
 *   4  u8  shared_count (0 for RAFS)
 *   5  [7] reserved
 * </pre>
 */
final class XattrIbodyHeader extends LeStruct {
    static final int SIZE = 12;
    static final int NAME_FILTER_OFFSET = 0;
    static final int SHARED_COUNT_OFFSET = NAME_FILTER_OFFSET + 4;
    static final int RESERVED_OFFSET = SHARED_COUNT_OFFSET + 1;

    private XattrIbodyHeader(ByteBuffer buf, int base) {
        super(buf, base, SIZE);
    }

    static XattrIbodyHeader wrap(ByteBuffer buf, int base) {
        return new XattrIbodyHeader(buf, base);
    }

    int sharedCount() { return u8(SHARED_COUNT_OFFSET); }

    void validate(String resource) throws CorruptImageException {
        if (sharedCount() != 0) {
            throw new CorruptImageException(resource, base + SHARED_COUNT_OFFSET,
                    "xattr shared_count expected 0 (RAFS has no shared xattrs), found " + sharedCount());
        }
    }
}
