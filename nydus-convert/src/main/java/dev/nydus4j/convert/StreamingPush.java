package dev.nydus4j.convert;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Uploads a blob file to the target while the builder is still writing it: a thread follows the growing file
 * (the builder only appends) and sends every {@link #CHUNK_BYTES} as one chunk of a registry upload; once the
 * build is done, {@link #complete} sends the rest and completes the upload with the digest the builder computed.
 * Closing without completing cancels the upload. At most one chunk buffer is held.
 */
final class StreamingPush implements AutoCloseable {
    /** A chunked upload that can be fed before its digest is known. */
    interface Upload extends AutoCloseable {
        void write(byte[] b, int off, int len) throws IOException;

        void finish(String digest) throws IOException;

        /** Cancels an unfinished upload. */
        @Override
        void close();
    }

    static final int CHUNK_BYTES = 8 << 20;
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Path file;
    private final Upload upload;
    private final Thread thread;
    private volatile boolean written; // the builder closed the file: its size is final
    private volatile boolean aborted;
    private volatile Throwable error;
    private long sent;

    StreamingPush(Path file, Upload upload) {
        this.file = file;
        this.upload = upload;
        this.thread = new Thread(this::follow, "nydusify-stream-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    private void follow() {
        byte[] chunk = new byte[CHUNK_BYTES];
        try {
            while (!Files.exists(file)) {
                if (aborted || written) {
                    return;
                }
                Thread.sleep(10);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (!aborted) {
                    boolean last = written; // read before the size: once written is seen, the size is final
                    long available = ch.size() - sent;
                    if (available >= CHUNK_BYTES || last && available > 0) {
                        int n = (int) Math.min(CHUNK_BYTES, available);
                        ByteBuffer buf = ByteBuffer.wrap(chunk, 0, n);
                        while (buf.hasRemaining()) {
                            if (ch.read(buf, sent + buf.position()) < 0) {
                                throw new IOException("blob file " + file + " shrank while it was streamed");
                            }
                        }
                        upload.write(chunk, 0, n);
                        sent += n;
                    } else if (last) {
                        return;
                    } else {
                        Thread.sleep(10);
                    }
                }
            }
        } catch (NoSuchFileException e) {
            if (!aborted) {
                error = e;
            }
        } catch (InterruptedException e) {
            error = e;
        } catch (Throwable t) {
            error = t;
        }
    }

    /**
     * Called once the builder closed the file: sends what is left and completes the upload as {@code digest}.
     *
     * @throws IOException when streaming failed (the caller then pushes the file the ordinary way)
     */
    void complete(String digest, long size) throws IOException {
        written = true;
        join();
        if (error != null) {
            throw new IOException("streaming the blob failed: " + error.getMessage(), error);
        }
        if (sent != size) {
            throw new IOException("streamed " + sent + " bytes of a " + size + "-byte blob");
        }
        upload.finish(digest);
    }

    private void join() throws IOException {
        try {
            thread.join();
        } catch (InterruptedException e) {
            aborted = true;
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while streaming " + file, e);
        }
    }

    /** Stops following the file; cancels the upload unless it was completed. */
    @Override
    public void close() {
        aborted = true;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        upload.close();
    }
}
