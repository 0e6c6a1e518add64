package dev.nydus4j.backend.localfs;

import dev.nydus4j.spi.BlobBackend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** One blob file opened read-only; positional reads, short reads at end of file as-is. Thread-safe. */
final class LocalfsBlobBackend implements BlobBackend {
    private final String blobId;
    private final Path path;
    private final FileChannel channel;

    LocalfsBlobBackend(String blobId, Path path) throws IOException {
        this.blobId = blobId;
        this.path = path;
        this.channel = FileChannel.open(path, StandardOpenOption.READ);
    }

    @Override
    public String blobId() {
        return blobId;
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position + " in blob " + blobId);
        }
        int total = 0;
        try {
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
        } catch (ClosedChannelException e) {
            throw new IOException("localfs blob " + blobId + " (" + path + ") is closed", e);
        }
        return total == 0 && dst.hasRemaining() ? -1 : total;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "localfs:" + path;
    }
}
