package dev.nydus4j.convert;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Passes a blob through while hashing it; at end of stream checks the sha256 and (when known) the size against
 * the descriptor, so that a corrupt or truncated layer fails with its digest named instead of converting garbage.
 */
final class VerifyingInputStream extends FilterInputStream {
    private final String what;
    private final String expectedDigest;
    private final long expectedSize;
    private final MessageDigest md = Manifest.sha256Digest();
    private long count;
    private boolean verified;

    /** @param expectedSize descriptor size, or -1 when unknown */
    VerifyingInputStream(InputStream in, String what, String expectedDigest, long expectedSize) {
        super(in);
        this.what = what;
        this.expectedDigest = expectedDigest;
        this.expectedSize = expectedSize;
        if (!expectedDigest.startsWith("sha256:")) {
            throw new IllegalArgumentException(what + ": unsupported digest algorithm in '" + expectedDigest
                    + "'; only sha256 is supported");
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            md.update(b, off, n);
            count += n;
            if (expectedSize >= 0 && count > expectedSize) {
                throw new IOException(what + " is longer than its descriptor size " + expectedSize + " (digest "
                        + expectedDigest + ")");
            }
        } else if (n < 0) {
            verify();
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }

    /** Reads what is left (tar padding after the end-of-archive marker) and verifies. */
    void drainAndVerify() throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (read(buf, 0, buf.length) >= 0) {
            // reading hashes the rest
        }
    }

    long bytesRead() {
        return count;
    }

    private void verify() throws IOException {
        if (verified) {
            return;
        }
        verified = true;
        String actual = "sha256:" + HexFormat.of().formatHex(md.digest());
        if (expectedSize >= 0 && count != expectedSize) {
            throw new IOException(what + " has " + count + " bytes but its descriptor says " + expectedSize
                    + " (digest " + expectedDigest + "): truncated or corrupt blob");
        }
        if (!actual.equals(expectedDigest)) {
            throw new IOException(what + " digest mismatch: expected " + expectedDigest + ", actual " + actual
                    + " (corrupt blob in the source)");
        }
    }
}
