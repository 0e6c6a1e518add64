package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.util.Arrays;

/**
 * Strict-reader bookkeeping (checklist 3.16 item 7): every structure the reader decodes registers its byte range;
 * {@link #verify} then proves that no two structures share bytes and that every byte outside them is zero.
 *
 * <p>Ranges are kept in primitive arrays and their descriptions are any object whose {@code toString()} names the
 * structure (a {@link Label} for per-inode structures): the text is only built when an error reports it, so
 * registering the tens of thousands of structures of a large bootstrap allocates no strings.
 */
final class Extents {
    private static final byte[] ZEROS = new byte[4096];

    private long[] starts = new long[64];
    private long[] ends = new long[64];
    private Object[] whats = new Object[64];
    private int count;

    /** A description built on demand: {@code before + path + after}. */
    record Label(String before, Object path, String after) {
        @Override
        public String toString() {
            return before + path + after;
        }
    }

    void add(long start, long length, Object what) {
        if (length <= 0) {
            return;
        }
        if (count == starts.length) {
            int n = count * 2;
            starts = Arrays.copyOf(starts, n);
            ends = Arrays.copyOf(ends, n);
            whats = Arrays.copyOf(whats, n);
        }
        starts[count] = start;
        ends[count] = start + length;
        whats[count] = what;
        count++;
    }

    void verify(byte[] file, String resource) throws CorruptImageException {
        int[] order = sortedOrder();
        long pos = 0;
        int prev = -1;
        for (int e : order) {
            if (prev >= 0 && starts[e] < ends[prev]) {
                throw new CorruptImageException(resource, starts[e], "structures overlap: " + whats[e] + " ["
                        + starts[e] + ", " + ends[e] + ") and " + whats[prev] + " [" + starts[prev] + ", " + ends[prev]
                        + ")");
            }
            checkZero(file, pos, starts[e], resource, whats[e]);
            pos = ends[e];
            prev = e;
        }
        checkZero(file, pos, file.length, resource, "end of file");
    }

    /** Indexes of the extents by (start, end) ascending. */
    private int[] sortedOrder() {
        // fast path: every start fits 31 bits, so (start << 32 | index) sorts by start; equal starts (which overlap
        // anyway) are then ordered by end
        boolean packable = true;
        for (int i = 0; i < count; i++) {
            packable &= starts[i] >= 0 && starts[i] <= Integer.MAX_VALUE;
        }
        Integer[] boxed = null;
        int[] order = new int[count];
        if (packable) {
            long[] keys = new long[count];
            for (int i = 0; i < count; i++) {
                keys[i] = starts[i] << 32 | i;
            }
            Arrays.sort(keys);
            for (int i = 0; i < count; i++) {
                order[i] = (int) keys[i];
            }
            for (int i = 1; i < count; i++) {
                // insertion step for runs of equal starts (rare: only in corrupt bootstraps)
                for (int j = i; j > 0 && starts[order[j]] == starts[order[j - 1]]
                        && ends[order[j]] < ends[order[j - 1]]; j--) {
                    int t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
            }
            return order;
        }
        boxed = new Integer[count];
        for (int i = 0; i < count; i++) {
            boxed[i] = i;
        }
        Arrays.sort(boxed, (a, b) -> starts[a] != starts[b] ? Long.compare(starts[a], starts[b])
                : Long.compare(ends[a], ends[b]));
        for (int i = 0; i < count; i++) {
            order[i] = boxed[i];
        }
        return order;
    }

    private static void checkZero(byte[] file, long from, long to, String resource, Object before)
            throws CorruptImageException {
        // compare with zeros a block at a time (Arrays.mismatch is vectorized)
        long i = from;
        while (i < to) {
            int n = (int) Math.min(to - i, ZEROS.length);
            int m = Arrays.mismatch(file, (int) i, (int) i + n, ZEROS, 0, n);
            if (m >= 0) {
                long at = i + m;
                throw new CorruptImageException(resource, at, String.format("byte outside every structure (gap before"
                        + " %s) expected 0, found 0x%02x", before, file[(int) at] & 0xFF));
            }
            i += n;
        }
    }
}
