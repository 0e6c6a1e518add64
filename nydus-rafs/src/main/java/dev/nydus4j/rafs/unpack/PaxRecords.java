package dev.nydus4j.rafs.unpack;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds the data of one PAX extended header ({@code "<len> <key>=<value>\n"} records, POSIX.1-2001) with raw
 * byte values, so that non-UTF-8 file names and binary xattr values survive (GNU tar stores them the same way).
 * Not thread-safe.
 */
final class PaxRecords {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PaxRecords add(String key, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        // the length prefix counts itself: iterate until the digit count is stable
        int body = 1 + k.length + 1 + value.length + 1;
        int len = body + 1;
        while (String.valueOf(len).length() + body != len) {
            len = String.valueOf(len).length() + body;
        }
        byte[] prefix = String.valueOf(len).getBytes(StandardCharsets.US_ASCII);
        out.write(prefix, 0, prefix.length);
        out.write(' ');
        out.write(k, 0, k.length);
        out.write('=');
        out.write(value, 0, value.length);
        out.write('\n');
        return this;
    }

    PaxRecords add(String key, String value) {
        return add(key, value.getBytes(StandardCharsets.UTF_8));
    }

    boolean isEmpty() {
        return out.size() == 0;
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
