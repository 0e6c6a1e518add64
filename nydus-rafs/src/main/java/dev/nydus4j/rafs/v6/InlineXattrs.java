package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * Codec of a whole inline xattr area (spec 3.9): {@link XattrIbodyHeader} + {@link XattrEntry}s exactly filling
 * {@code 12 + 4 * (icount - 1)} bytes.
 */
final class InlineXattrs {
    static final int MAX_VALUE_SIZE = 0xFFFF;
    static final int MAX_SUFFIX_SIZE = 0xFF;

    private InlineXattrs() {
    }

    /** Encoded area length for {@code xattrs} (0 when empty); validates names and values. */
    static int encodedSize(Map<String, byte[]> xattrs, String path) {
        if (xattrs.isEmpty()) {
            return 0;
        }
        int size = XattrIbodyHeader.SIZE;
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            XattrPrefix p = XattrPrefix.forName(e.getKey());
            if (p == null) {
                throw new IllegalArgumentException("xattr '" + e.getKey() + "' of '" + path + "' cannot be stored in"
                        + " RAFS: supported prefixes are user., trusted., security., system.posix_acl_access,"
                        + " system.posix_acl_default");
            }
            int suffix = p.suffix(e.getKey()).length;
            if (suffix > MAX_SUFFIX_SIZE) {
                throw new IllegalArgumentException("xattr name '" + e.getKey() + "' of '" + path
                        + "' is too long: suffix " + suffix + " bytes, max 255");
            }
            if (e.getValue().length > MAX_VALUE_SIZE) {
                throw new IllegalArgumentException("xattr '" + e.getKey() + "' of '" + path + "' value is "
                        + e.getValue().length + " bytes, max 65535");
            }
            size += XattrEntry.entrySize(suffix, e.getValue().length);
        }
        if ((size - XattrIbodyHeader.SIZE) / 4 + 1 > 0xFFFF) {
            throw new IllegalArgumentException("xattrs of '" + path + "' take " + size + " bytes, too many for"
                    + " i_xattr_icount");
        }
        return size;
    }

    /** i_xattr_icount for an area of {@code size} bytes. */
    static int icount(int size) {
        return size == 0 ? 0 : 1 + (size - XattrIbodyHeader.SIZE) / 4;
    }

    /** Writes the area at {@code off} (header zeros + entries in name order). */
    static void writeTo(ByteBuffer buf, int off, Map<String, byte[]> xattrs) {
        int pos = off + XattrIbodyHeader.SIZE;
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            XattrPrefix p = XattrPrefix.forName(e.getKey());
            byte[] suffix = p.suffix(e.getKey());
            XattrEntry.wrap(buf, pos).writeTo(p.index, suffix, e.getValue());
            pos += XattrEntry.entrySize(suffix.length, e.getValue().length);
        }
    }

    /** Decodes the area {@code [off, off + size)}; every entry must lie inside it and fill it exactly. */
    static TreeMap<String, byte[]> read(ByteBuffer file, int off, int size, String resource)
            throws CorruptImageException {
        TreeMap<String, byte[]> out = new TreeMap<>();
        if (size == 0) {
            return out;
        }
        if (off < 0 || off > file.limit() - size) {
            throw new CorruptImageException(resource, off, "xattr area of " + size + " bytes crosses the end of file");
        }
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        XattrIbodyHeader.wrap(b, off).validate(resource);
        int pos = off + XattrIbodyHeader.SIZE;
        int end = off + size;
        while (pos < end) {
            if (end - pos < XattrEntry.SIZE) {
                throw new CorruptImageException(resource, pos, "xattr entry header expected 4 bytes, only "
                        + (end - pos) + " left in the area");
            }
            XattrEntry e = XattrEntry.wrap(b, pos);
            int len = XattrEntry.entrySize(e.nameLen(), e.valueSize());
            if (len > end - pos) {
                throw new CorruptImageException(resource, pos, "xattr entry of " + len + " bytes expected inside the"
                        + " area, only " + (end - pos) + " bytes left");
            }
            XattrPrefix p = XattrPrefix.forIndex(e.nameIndex());
            if (p == null) {
                throw new CorruptImageException(resource, pos + XattrEntry.NAME_INDEX_OFFSET,
                        "xattr name_index expected one of 1,2,3,4,6, found " + e.nameIndex());
            }
            byte[] suffix = new byte[e.nameLen()];
            b.get(pos + XattrEntry.NAME_OFFSET, suffix);
            if (p.exact != (suffix.length == 0)) {
                throw new CorruptImageException(resource, pos, "xattr with prefix '" + p.prefix + "' expected "
                        + (p.exact ? "an empty" : "a non-empty") + " name suffix, found " + suffix.length + " bytes");
            }
            byte[] value = new byte[e.valueSize()];
            b.get(pos + XattrEntry.NAME_OFFSET + suffix.length, value);
            String name = p.fullName(suffix);
            if (out.put(name, value) != null) {
                throw new CorruptImageException(resource, pos, "xattr '" + name + "' appears twice");
            }
            pos += len;
        }
        return out;
    }
}
