package dev.nydus4j.cli.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * An input stream over a pipe, FIFO or character device (wrap a {@link java.io.FileInputStream}: the channel streams
 * of {@code Files.newInputStream} seek in {@code available()} on JDK 17). {@link #skip} reads and discards instead of
 * seeking, which fails on such files with "Illegal seek".
 */
final class SequentialInputStream extends FilterInputStream {
    private final byte[] discard = new byte[8192];

    SequentialInputStream(InputStream in) {
        super(in);
    }

    @Override
    public long skip(long n) throws IOException {
        long left = n;
        while (left > 0) {
            int r = in.read(discard, 0, (int) Math.min(discard.length, left));
            if (r < 0) {
                break;
            }
            left -= r;
        }
        return n - left;
    }
}
