package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;

import java.nio.charset.StandardCharsets;

/**
 * The 512-byte GNU tar header that trails every section of a blob with HAS_TAR_HEADER (RAFS spec 6.2).
 * Upstream writes it <em>after</em> the section data, so a blob is walked from its end backwards.
 *
 * <pre>
 * off  size field     value written
 *   0   100 name      section name, NUL padded
 * 100    24 mode/uid/gid  all NUL
 * 124    12 size      11 octal digits + NUL (GNU base-256 from 8 GiB on)
 * 136    12 mtime     "00000000000" + NUL
 * 148     8 chksum    7 octal digits + NUL (sum of all bytes, this field counted as 8 spaces)
 * 156     1 typeflag  '0'
 * 257     8 magic     "ustar  \0" (GNU)
 * rest        zeros
 * </pre>
 *
 * @param name section name
 * @param size section data size in bytes (the data ends where the header starts)
 */
record TarHeader(String name, long size) {

    static final int SIZE = 512;

    static final String IMAGE_BLOB = "image.blob";
    static final String BLOB_META = "blob.meta";
    static final String BLOB_DIGEST = "blob.digest";
    static final String IMAGE_BOOT = "image.boot";
    static final String TOC = "rafs.blob.toc";

    private static final int NAME_OFFSET = 0;
    private static final int NAME_SIZE = 100;
    private static final int SIZE_OFFSET = 124;
    private static final int MTIME_OFFSET = 136;
    private static final int CHKSUM_OFFSET = 148;
    private static final int TYPEFLAG_OFFSET = 156;
    private static final int MAGIC_OFFSET = 257;
    private static final byte[] GNU_MAGIC = "ustar  \0".getBytes(StandardCharsets.US_ASCII);
    /** Largest size 11 octal digits hold (8 GiB - 1); larger sections use GNU base-256 in the 12-byte field. */
    private static final long MAX_OCTAL_SIZE = 077777777777L;

    TarHeader {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length > NAME_SIZE) {
            throw new IllegalArgumentException("tar entry name must be 1..100 bytes: '" + name + "'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("tar entry size out of range: " + size);
        }
    }

    /** The exact header bytes upstream writes. */
    byte[] encode() {
        byte[] h = new byte[SIZE];
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(n, 0, h, NAME_OFFSET, n.length);
        if (size <= MAX_OCTAL_SIZE) {
            writeOctal(h, SIZE_OFFSET, 11, size);
        } else {
            // GNU base-256: high bit of the first byte set, the value big-endian in the rest of the field.
            h[SIZE_OFFSET] = (byte) 0x80;
            for (int i = 0; i < 8; i++) {
                h[SIZE_OFFSET + 11 - i] = (byte) (size >>> (8 * i));
            }
        }
        writeOctal(h, MTIME_OFFSET, 11, 0);
        h[TYPEFLAG_OFFSET] = '0';
        System.arraycopy(GNU_MAGIC, 0, h, MAGIC_OFFSET, GNU_MAGIC.length);
        writeOctal(h, CHKSUM_OFFSET, 7, checksum(h, 0));
        return h;
    }

    /**
     * Parses and validates the header at {@code buf[off, off+512)}: GNU magic, regular-file typeflag, octal size
     * and checksum.
     *
     * @param fileOffset where the header sits in the blob, for error messages
     */
    static TarHeader parse(byte[] buf, int off, String resource, long fileOffset) throws CorruptImageException {
        if (!isGnuMagic(buf, off)) {
            throw new CorruptImageException(resource, fileOffset, "no GNU tar header: magic at +257 is not 'ustar  \\0'");
        }
        if (buf[off + TYPEFLAG_OFFSET] != '0' && buf[off + TYPEFLAG_OFFSET] != 0) {
            throw new CorruptImageException(resource, fileOffset,
                    "tar header typeflag " + (buf[off + TYPEFLAG_OFFSET] & 0xff) + ", expected '0' (regular file)");
        }
        long stored = parseOctal(buf, off + CHKSUM_OFFSET, 8, resource, fileOffset + CHKSUM_OFFSET, "checksum");
        long actual = checksum(buf, off);
        if (stored != actual) {
            throw new CorruptImageException(resource, fileOffset + CHKSUM_OFFSET,
                    "tar header checksum mismatch: stored " + stored + " vs computed " + actual);
        }
        int nameLen = 0;
        while (nameLen < NAME_SIZE && buf[off + nameLen] != 0) {
            nameLen++;
        }
        if (nameLen == 0) {
            throw new CorruptImageException(resource, fileOffset, "tar header with empty name");
        }
        String name = new String(buf, off, nameLen, StandardCharsets.US_ASCII);
        long size;
        if ((buf[off + SIZE_OFFSET] & 0x80) != 0) {
            if ((buf[off + SIZE_OFFSET] & 0xff) != 0x80 || buf[off + SIZE_OFFSET + 1] != 0
                    || buf[off + SIZE_OFFSET + 2] != 0 || buf[off + SIZE_OFFSET + 3] != 0
                    || (buf[off + SIZE_OFFSET + 4] & 0x80) != 0) {
                throw new CorruptImageException(resource, fileOffset + SIZE_OFFSET,
                        "tar header base-256 size is negative or exceeds 2^63");
            }
            size = 0;
            for (int i = 4; i < 12; i++) {
                size = (size << 8) | (buf[off + SIZE_OFFSET + i] & 0xff);
            }
        } else {
            size = parseOctal(buf, off + SIZE_OFFSET, 12, resource, fileOffset + SIZE_OFFSET, "size");
        }
        return new TarHeader(name, size);
    }

    /** Cheap test used when probing whether a blob has tar trailers at all. */
    static boolean isGnuMagic(byte[] buf, int off) {
        for (int i = 0; i < GNU_MAGIC.length; i++) {
            if (buf[off + MAGIC_OFFSET + i] != GNU_MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the name field holds one of the section names upstream writes: together with the magic this tells
     * a damaged trailer (must be rejected) from a legacy blob without any (NUL padding after the name).
     */
    static boolean hasSectionName(byte[] buf, int off) {
        for (String n : new String[] {IMAGE_BLOB, BLOB_META, BLOB_DIGEST, IMAGE_BOOT, TOC}) {
            byte[] b = n.getBytes(StandardCharsets.US_ASCII);
            if (java.util.Arrays.equals(buf, off, off + b.length, b, 0, b.length) && buf[off + b.length] == 0) {
                return true;
            }
        }
        return false;
    }

    private static long checksum(byte[] h, int off) {
        long sum = 0;
        for (int i = 0; i < SIZE; i++) {
            boolean inChksum = i >= CHKSUM_OFFSET && i < CHKSUM_OFFSET + 8;
            sum += inChksum ? ' ' : (h[off + i] & 0xff);
        }
        return sum;
    }

    private static void writeOctal(byte[] h, int off, int digits, long value) {
        for (int i = digits - 1; i >= 0; i--) {
            h[off + i] = (byte) ('0' + (value & 7));
            value >>>= 3;
        }
        h[off + digits] = 0;
    }

    /** Octal digits, optionally surrounded by spaces, terminated by NUL/space or the field end. */
    private static long parseOctal(byte[] buf, int off, int len, String resource, long fileOffset, String field)
            throws CorruptImageException {
        int i = 0;
        while (i < len && buf[off + i] == ' ') {
            i++;
        }
        long v = 0;
        int digits = 0;
        for (; i < len; i++) {
            byte c = buf[off + i];
            if (c == 0 || c == ' ') {
                break;
            }
            if (c < '0' || c > '7' || digits == 12) {
                throw new CorruptImageException(resource, fileOffset, "tar header " + field + " is not octal");
            }
            v = (v << 3) | (c - '0');
            digits++;
        }
        if (digits == 0) {
            throw new CorruptImageException(resource, fileOffset, "tar header " + field + " is empty");
        }
        return v;
    }
}
