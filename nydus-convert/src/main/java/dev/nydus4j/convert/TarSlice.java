package dev.nydus4j.convert;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Where one entry's data lies in an uncompressed tar (OCI and docker archives are read in place). */
record TarSlice(long offset, long size) {

    /** A stream over this entry of {@code tar}, with its own channel (safe to use from several threads at once). */
    InputStream open(Path tar) throws IOException {
        FileChannel ch = FileChannel.open(tar, StandardOpenOption.READ);
        ch.position(offset);
        InputStream raw = Channels.newInputStream(ch);
        return new BufferedInputStream(new InputStream() {
            long left = size;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = raw.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                    left -= n;
                }
                return n;
            }

            @Override
            public void close() throws IOException {
                raw.close();
            }
        }, 1 << 16);
    }
}
