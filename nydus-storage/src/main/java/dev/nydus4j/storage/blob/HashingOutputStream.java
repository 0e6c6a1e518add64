package dev.nydus4j.storage.blob;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Counts and SHA-256-hashes every byte written through it, so that a blob's id and size are known at the end of
 * a purely sequential write (the output may be a pipe). Not thread-safe.
 */
final class HashingOutputStream extends FilterOutputStream {
    private final MessageDigest sha256 = sha256();
    private long position;

    HashingOutputStream(OutputStream out) {
        super(out);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        sha256.update((byte) b);
        position++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        sha256.update(b, off, len);
        position += len;
    }

    /** Bytes written so far. */
    long position() {
        return position;
    }

    /**
     * SHA-256 of what was written so far, hashing going on (the running state is cloned), or null when this JDK's
     * SHA-256 cannot be cloned.
     */
    byte[] digestSoFar() {
        try {
            return ((MessageDigest) sha256.clone()).digest();
        } catch (CloneNotSupportedException e) {
            return null;
        }
    }

    /** Whether {@link #digestSoFar()} works. */
    boolean canDigestSoFar() {
        return sha256 instanceof Cloneable;
    }

    /** SHA-256 of everything written; ends hashing. */
    byte[] digest() {
        return sha256.digest();
    }
}
