package dev.nydus4j.fuse;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test backend {@code gated-localfs}: blobs are files in {@code dir} as with localfs, but every read waits while a
 * file {@code dir/.gate} exists. It holds a FUSE request inside a daemon for as long as a test wants (to kill the
 * daemon with a request read but not answered).
 */
public final class GatedBackendProvider implements BlobBackendProvider<GatedBackendProvider.Config> {
    /** @param dir the blob directory (and where the gate file goes) */
    public record Config(String dir) {
    }

    @Override
    public String type() {
        return "gated-localfs";
    }

    @Override
    public Class<Config> configType() {
        return Config.class;
    }

    @Override
    public BlobBackend open(Config config, String blobId, BackendContext context) throws IOException {
        Path dir = Path.of(config.dir());
        FileChannel ch = FileChannel.open(dir.resolve(blobId));
        return new BlobBackend() {
            @Override
            public String blobId() {
                return blobId;
            }

            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public int read(ByteBuffer dst, long position) throws IOException {
                while (Files.exists(dir.resolve(".gate"))) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted at the gate");
                    }
                }
                return ch.read(dst, position);
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }
}
