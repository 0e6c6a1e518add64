package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The v5 per-inode xattr table (RAFS spec 5.6): {@code u64 size} then {@code size} bytes of pairs, padded to 8;
 * each pair is {@code u32 pair_size}, name bytes, NUL, value bytes ({@code pair_size = name + 1 + value}).
 */
final class RafsV5XattrTable {
    static final int SIZE_FIELD = 8;
    static final int PAIR_SIZE_FIELD = 4;
    private static final String[] PREFIXES = {
            "user.", "trusted.", "security.", "system.posix_acl_access", "system.posix_acl_default"};

    private RafsV5XattrTable() {
    }

    /**
     * Parses the table at {@code offset} into {@code out}; returns the offset just after its 8-byte padding.
     */
    static int parse(ByteBuffer image, int offset, int limit, String resource, Map<String, byte[]> out)
            throws CorruptImageException {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (limit - offset < SIZE_FIELD) {
            throw new CorruptImageException(resource, offset, "xattr table size field runs past the end of the bootstrap");
        }
        long size = b.getLong(offset);
        int start = offset + SIZE_FIELD;
        if (size < 0 || size > limit - start) {
            throw new CorruptImageException(resource, offset,
                    "xattr table size " + Long.toUnsignedString(size) + " exceeds the " + (limit - start) + " bytes left");
        }
        int end = start + (int) size;
        int pos = start;
        while (pos < end) {
            if (end - pos < PAIR_SIZE_FIELD) {
                throw new CorruptImageException(resource, pos, "truncated xattr pair header");
            }
            long pairSize = Integer.toUnsignedLong(b.getInt(pos));
            int pairStart = pos + PAIR_SIZE_FIELD;
            if (pairSize < 2 || pairSize > end - pairStart) {
                throw new CorruptImageException(resource, pos,
                        "xattr pair size " + pairSize + " outside [2, " + (end - pairStart) + "]");
            }
            int pairEnd = pairStart + (int) pairSize;
            int nul = pairStart;
            while (nul < pairEnd && b.get(nul) != 0) {
                nul++;
            }
            if (nul == pairEnd || nul == pairStart) {
                throw new CorruptImageException(resource, pairStart, "xattr pair has no NUL-terminated non-empty name");
            }
            byte[] nameBytes = new byte[nul - pairStart];
            b.get(pairStart, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            if (!hasKnownPrefix(name) || nameBytes.length > 255) {
                throw new CorruptImageException(resource, pairStart,
                        "xattr name '" + name + "' has no supported prefix (user., trusted., security., system.posix_acl_*)"
                                + " or is longer than 255 bytes");
            }
            byte[] value = new byte[pairEnd - nul - 1];
            b.get(nul + 1, value);
            if (out.put(name, value) != null) {
                throw new CorruptImageException(resource, pairStart, "duplicate xattr name '" + name + "'");
            }
            pos = pairEnd;
        }
        int padded = align8(end);
        if (padded > limit) {
            throw new CorruptImageException(resource, end, "xattr table padding runs past the end of the bootstrap");
        }
        return padded;
    }

    private static boolean hasKnownPrefix(String name) {
        for (String p : PREFIXES) {
            if (p.endsWith(".") ? name.startsWith(p) && name.length() > p.length() : name.equals(p)) {
                return true;
            }
        }
        return false;
    }

    static int align8(int v) {
        return (v + 7) & ~7;
    }

    /** Bytes of the pairs ({@code u32 pair_size}, name, NUL, value each), without the size field and padding. */
    static long pairsSize(Map<String, byte[]> xattrs) {
        long n = 0;
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            n += PAIR_SIZE_FIELD + e.getKey().getBytes(StandardCharsets.UTF_8).length + 1L + e.getValue().length;
        }
        return n;
    }

    /** Whole table size on disk: size field plus pairs padded to 8 (0 when there are no xattrs: no table). */
    static long encodedSize(Map<String, byte[]> xattrs) {
        return xattrs.isEmpty() ? 0 : SIZE_FIELD + ((pairsSize(xattrs) + 7) & ~7L);
    }

    /**
     * Checks that every name can be stored and read back (prefix, length, no NUL).
     *
     * @throws IllegalArgumentException naming {@code path} and the xattr
     */
    static void checkWritable(Map<String, byte[]> xattrs, String path) {
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            String name = e.getKey();
            byte[] nb = name.getBytes(StandardCharsets.UTF_8);
            if (!hasKnownPrefix(name) || nb.length > 255 || name.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("'" + path + "': xattr '" + name + "' cannot be stored in RAFS v5:"
                        + " expected a user., trusted., security. or system.posix_acl_* name of at most 255 bytes");
            }
            if (e.getValue().length > 65536) {
                throw new IllegalArgumentException("'" + path + "': xattr '" + name + "' value is "
                        + e.getValue().length + " bytes, more than 65536");
            }
        }
    }

    /** Writes the table of non-empty {@code xattrs} at {@code offset} (zeroed buffer); returns its padded end. */
    static int writeTo(ByteBuffer file, int offset, Map<String, byte[]> xattrs) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(offset, pairsSize(xattrs));
        int pos = offset + SIZE_FIELD;
        for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
            byte[] nb = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] v = e.getValue();
            b.putInt(pos, nb.length + 1 + v.length);
            pos += PAIR_SIZE_FIELD;
            b.put(pos, nb);
            pos += nb.length + 1; // NUL (buffer is zeroed)
            b.put(pos, v);
            pos += v.length;
        }
        return align8(pos);
    }
}
