package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;

/**
 * Head of one inline xattr entry (spec 3.9), 4 bytes, followed by {@code name_len} name-suffix bytes and
 * {@code value_size} value bytes, the whole entry zero padded to a multiple of 4.
 *
 * <pre>
 * off size field
 *   0  u8  name_len (suffix length)
 *   1  u8  name_index (prefix, see {@link XattrPrefix})
 *   2  u16 value_size
 * </pre>
 */
final class XattrEntry extends LeStruct {
    static final int SIZE = 4;
    static final int NAME_LEN_OFFSET = 0;
    static final int NAME_INDEX_OFFSET = NAME_LEN_OFFSET + 1;
    static final int VALUE_SIZE_OFFSET = NAME_INDEX_OFFSET + 1;
    static final int NAME_OFFSET = VALUE_SIZE_OFFSET + 2;

    private XattrEntry(ByteBuffer buf, int base) {
        super(buf, base, SIZE);
    }

    static XattrEntry wrap(ByteBuffer buf, int base) {
        return new XattrEntry(buf, base);
    }

    int nameLen() { return u8(NAME_LEN_OFFSET); }
    int nameIndex() { return u8(NAME_INDEX_OFFSET); }
    int valueSize() { return u16(VALUE_SIZE_OFFSET); }

    /** Total entry length including padding. */
    static int entrySize(int nameLen, int valueSize) {
        return (SIZE + nameLen + valueSize + 3) & ~3;
    }

    void writeTo(int nameIndex, byte[] suffix, byte[] value) {
        put8(NAME_LEN_OFFSET, suffix.length);
        put8(NAME_INDEX_OFFSET, nameIndex);
        put16(VALUE_SIZE_OFFSET, value.length);
        buf.put(base + NAME_OFFSET, suffix);
        buf.put(base + NAME_OFFSET + suffix.length, value);
    }
}
