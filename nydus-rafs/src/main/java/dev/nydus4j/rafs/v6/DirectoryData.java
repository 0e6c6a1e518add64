package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decoder of the blocks of one directory (spec 3.10): dirents + names per block, names sorted across the
 * whole directory. Produces the raw entries; the caller checks nids and types.
 */
final class DirectoryData {
    record Entry(byte[] name, long nid, int fileType, long offset) {
    }

    static final int MAX_NAME = 255;

    private final List<Entry> entries = new ArrayList<>();
    private byte[] previous;

    List<Entry> entries() {
        return entries;
    }

    /** Decodes the dirent block {@code [start, start + len)}, continuing the sort-order check of earlier blocks. */
    void readBlock(ByteBuffer file, int start, int len, String resource, Object path) throws CorruptImageException {
        if (len < Dirent.SIZE) {
            throw new CorruptImageException(resource, start, "directory '" + path + "' block of " + len
                    + " bytes expected at least one 12-byte dirent");
        }
        int first = Dirent.wrap(file, start, 0).nameoff();
        if (first % Dirent.SIZE != 0 || first < Dirent.SIZE || first >= len) {
            throw new CorruptImageException(resource, start + Dirent.NAMEOFF_OFFSET, "directory '" + path
                    + "' first e_nameoff expected a multiple of 12 in [12, " + len + "), found " + first);
        }
        int n = first / Dirent.SIZE;
        for (int j = 0; j < n; j++) {
            Dirent d = Dirent.wrap(file, start, j);
            int nameoff = d.nameoff();
            int end;
            if (j + 1 < n) {
                end = Dirent.wrap(file, start, j + 1).nameoff();
            } else {
                end = nameoff;
                while (end < len && file.get(start + end) != 0) {
                    end++;
                }
                for (int k = end; k < len; k++) {
                    if (file.get(start + k) != 0) {
                        throw new CorruptImageException(resource, start + k, "directory '" + path
                                + "' bytes after the last name expected 0, found non-zero");
                    }
                }
            }
            if (nameoff < first || end > len || end - nameoff < 1 || end - nameoff > MAX_NAME) {
                throw new CorruptImageException(resource, d.offset() + Dirent.NAMEOFF_OFFSET, "directory '" + path
                        + "' dirent " + j + " name range expected inside [" + first + ", " + len + ") with 1..255"
                        + " bytes, found [" + nameoff + ", " + end + ")");
            }
            byte[] name = new byte[end - nameoff];
            file.get(start + nameoff, name);
            for (byte b : name) {
                if (b == 0 || b == '/') {
                    throw new CorruptImageException(resource, start + nameoff, "directory '" + path
                            + "' entry name expected without '/' or NUL, found " + Arrays.toString(name));
                }
            }
            if (previous != null && Arrays.compareUnsigned(previous, name) >= 0) {
                throw new CorruptImageException(resource, d.offset(), "directory '" + path + "' entries expected"
                        + " strictly sorted by name bytes, found '" + new String(name, java.nio.charset.StandardCharsets.UTF_8) + "' after '"
                        + new String(previous, java.nio.charset.StandardCharsets.UTF_8) + "'");
            }
            previous = name;
            entries.add(new Entry(name, d.nid(), d.fileType(), d.offset()));
        }
    }
}
