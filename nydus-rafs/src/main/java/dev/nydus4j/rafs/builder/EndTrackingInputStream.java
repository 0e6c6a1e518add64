package dev.nydus4j.rafs.builder;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Counts the bytes a tar reader pulled from the layer stream and remembers whether the stream ended. */
final class EndTrackingInputStream extends FilterInputStream {
    private long count;
    private boolean ended;

    EndTrackingInputStream(InputStream in) {
        super(in);
    }

    /** Bytes delivered so far. */
    long count() {
        return count;
    }

    /** Whether a read has returned end of stream. */
    boolean ended() {
        return ended;
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
