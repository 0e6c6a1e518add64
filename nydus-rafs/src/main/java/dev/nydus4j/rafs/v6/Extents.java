package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Strict-reader bookkeeping (checklist 3.16 item 7): every structure the reader decodes registers its byte range;
 * {@link #verify} then proves that no two structures share bytes and that every byte outside them is zero.
 */
final class Extents {
    private record Extent(long start, long end, String what) {
    }

    private final List<Extent> extents = new ArrayList<>();

    void add(long start, long length, String what) {
        if (length > 0) {
            extents.add(new Extent(start, start + length, what));
        }
    }

    void verify(byte[] file, String resource) throws CorruptImageException {
        extents.sort(Comparator.comparingLong(Extent::start).thenComparingLong(Extent::end));
        long pos = 0;
        Extent prev = null;
        for (Extent e : extents) {
            if (prev != null && e.start < prev.end) {
                throw new CorruptImageException(resource, e.start, "structures overlap: " + e.what + " ["
                        + e.start + ", " + e.end + ") and " + prev.what + " [" + prev.start + ", " + prev.end + ")");
            }
            checkZero(file, pos, e.start, resource, e.what);
            pos = e.end;
            prev = e;
        }
        checkZero(file, pos, file.length, resource, "end of file");
    }

    private static void checkZero(byte[] file, long from, long to, String resource, String before)
            throws CorruptImageException {
        for (long i = from; i < to; i++) {
            if (file[(int) i] != 0) {
                throw new CorruptImageException(resource, i, String.format("byte outside every structure (gap before"
                        + " %s) expected 0, found 0x%02x", before, file[(int) i] & 0xFF));
            }
        }
    }
}
