package dev.nydus4j.backend.objectstorage;

import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.AbstractHttpEntity;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/**
 * A request body of bytes {@code [offset, offset + length)} of a file, streamed with a 64 KiB buffer on each send
 * (repeatable: a retried part reads the file again), so a part never sits in memory. No Content-Type.
 */
final class FileRangeEntity extends AbstractHttpEntity {
    static final int BUFFER = 64 * 1024;

    private final Path file;
    private final long offset;
    private final long length;

    FileRangeEntity(Path file, long offset, long length) {
        super((ContentType) null, null, false);
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("bad range " + offset + "+" + length + " of " + file);
        }
        this.file = file;
        this.offset = offset;
        this.length = length;
    }

    /** Digest of the range, read from the file with the same buffer size. */
    static byte[] digest(Path file, long offset, long length, String algorithm) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " unavailable", e);
        }
        ByteBuffer buf = ByteBuffer.allocate(BUFFER);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                buf.clear().limit((int) Math.min(BUFFER, end - pos));
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new EOFException(file + " ends at " + pos + ", before " + end + " (changed while uploading?)");
                }
                buf.flip();
                md.update(buf);
                pos += n;
            }
        }
        return md.digest();
    }

    @Override
    public boolean isRepeatable() {
        return true;
    }

    @Override
    public long getContentLength() {
        return length;
    }

    @Override
    public boolean isStreaming() {
        return false;
    }

    @Override
    public InputStream getContent() throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        return new InputStream() {
            private long pos = offset;
            private final long end = offset + length;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (pos >= end) {
                    return -1;
                }
                int want = (int) Math.min(len, end - pos);
                int n = ch.read(ByteBuffer.wrap(b, off, want), pos);
                if (n < 0) {
                    throw new EOFException(file + " ends at " + pos + ", before " + end
                            + " (changed while uploading?)");
                }
                pos += n;
                return n;
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }

    @Override
    public void writeTo(OutputStream out) throws IOException {
        byte[] buf = new byte[BUFFER];
        try (InputStream in = getContent()) {
            int n;
            while ((n = in.read(buf, 0, buf.length)) > 0) {
                out.write(buf, 0, n);
            }
        }
    }

    @Override
    public void close() {
        // nothing held between sends
    }
}
