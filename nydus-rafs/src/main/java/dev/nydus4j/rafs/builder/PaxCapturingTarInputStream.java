package dev.nydus4j.rafs.builder;

import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tar reader that also keeps the raw bytes of each entry's PAX extended header. commons-compress hands PAX
 * values over as UTF-8 decoded strings, which mangles binary xattr values such as {@code security.capability}
 * and drops empty ones; {@link #takeRawPaxRecords()} gives the exact bytes. Not thread-safe.
 *
 * <p>How it works: the parent class reads every header through {@link #readRecord()} and the PAX data through
 * {@link #read(byte[], int, int)}; capture starts at an {@code x}/{@code X} header record and stops at the next
 * record, which is the header of the entry the PAX data belongs to.
 */
final class PaxCapturingTarInputStream extends TarArchiveInputStream {
    /** Far above real PAX headers (a few KiB); a hostile size fails instead of growing without bound. */
    static final int MAX_PAX_BYTES = 16 << 20;
    private static final int TYPEFLAG_OFFSET = 156;

    private final ByteArrayOutputStream pax = new ByteArrayOutputStream();
    private boolean capturing;
    private boolean tooLarge;

    PaxCapturingTarInputStream(InputStream in, int blockSize, int recordSize) {
        super(in, blockSize, recordSize, "UTF-8", false);
    }

    @Override
    protected byte[] readRecord() throws IOException {
        byte[] r = super.readRecord();
        boolean paxHeader = r != null && r.length > TYPEFLAG_OFFSET
                && (r[TYPEFLAG_OFFSET] == 'x' || r[TYPEFLAG_OFFSET] == 'X') && !isEOFRecord(r);
        if (paxHeader) {
            pax.reset();
            tooLarge = false;
        }
        capturing = paxHeader;
        return r;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (capturing && n > 0) {
            if (pax.size() + n > MAX_PAX_BYTES) {
                tooLarge = true;
                capturing = false;
                pax.reset();
            } else {
                pax.write(buf, off, n);
            }
        }
        return n;
    }

    /**
     * Raw PAX records (key → value bytes) of the entry last returned, then forgets them. Empty when the entry had
     * no PAX header.
     *
     * @throws IOException when the PAX header exceeded {@link #MAX_PAX_BYTES}
     */
    Map<String, byte[]> takeRawPaxRecords() throws IOException {
        if (tooLarge) {
            tooLarge = false;
            throw new IOException("PAX extended header larger than " + MAX_PAX_BYTES + " bytes");
        }
        byte[] data = pax.toByteArray();
        pax.reset();
        return parse(data);
    }

    /** Parses "LEN KEY=VALUE\n" records; stops quietly at anything malformed (the parent class validated). */
    static Map<String, byte[]> parse(byte[] data) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        int pos = 0;
        while (pos < data.length) {
            int sp = pos;
            long len = 0;
            while (sp < data.length && data[sp] >= '0' && data[sp] <= '9' && len < Integer.MAX_VALUE) {
                len = len * 10 + (data[sp] - '0');
                sp++;
            }
            if (sp == pos || sp >= data.length || data[sp] != ' ' || len <= sp - pos + 1
                    || pos + len > data.length || data[(int) (pos + len - 1)] != '\n') {
                break;
            }
            int end = (int) (pos + len - 1); // index of '\n'
            int eq = sp + 1;
            while (eq < end && data[eq] != '=') {
                eq++;
            }
            if (eq >= end) {
                break;
            }
            String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
            byte[] value = java.util.Arrays.copyOfRange(data, eq + 1, end);
            out.put(key, value);
            pos = (int) (pos + len);
        }
        return out;
    }
}
