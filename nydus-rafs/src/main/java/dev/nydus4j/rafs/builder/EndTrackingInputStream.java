package dev.nydus4j.rafs.builder;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Counts the bytes a tar reader pulled from a layer stream and remembers whether the stream ended, so that a layer
 * ending right after its last entry's complete data (umoci 0.4.7 writes no padding and no end-of-archive blocks)
 * can be told apart from a truncated one. Shared by the builder and nydusify's checker.
 */
public final class EndTrackingInputStream extends FilterInputStream {
    private static final int RECORD = 512;
    private long count;
    private boolean ended;

    public EndTrackingInputStream(InputStream in) {
        super(in);
    }

    /** Bytes delivered so far. */
    public long count() {
        return count;
    }

    /** Whether a read has returned end of stream. */
    public boolean ended() {
        return ended;
    }

    /**
     * Whether the stream ended within the padding after the last entry's complete data (less than one record
     * after it): truncated entry data or a cut header never qualify.
     *
     * @param lastDataEnd stream offset where the last entry's data ends, negative when unknown
     */
    public boolean endsAfterCompleteEntry(long lastDataEnd) {
        return lastDataEnd >= 0 && ended && count >= lastDataEnd && count <= paddedEnd(lastDataEnd);
    }

    /**
     * Bytes of a header cut off by the end of the stream: what was delivered past the last entry's padded data,
     * when that is a partial 512-byte record (0 when the stream ended on a record boundary or has not ended).
     *
     * @param lastDataEnd stream offset where the last entry's data ends, negative when unknown
     */
    public long cutHeaderBytes(long lastDataEnd) {
        if (lastDataEnd < 0 || !ended) {
            return 0;
        }
        long extra = count - paddedEnd(lastDataEnd);
        return extra > 0 && extra < RECORD ? extra : 0;
    }

    private static long paddedEnd(long offset) {
        return (offset + RECORD - 1) / RECORD * RECORD;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            ended = true;
        } else {
            count++;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
            ended = true;
        } else {
            count += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long s = super.skip(n);
        count += s;
        return s;
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
