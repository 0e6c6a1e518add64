package dev.nydus4j.convert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Uploads a blob file to the target while the builder is still writing it: a thread follows the growing file
 * (the builder only appends) and sends it as one streamed request ({@link Upload#writeStream}) that ends when the
 * builder has closed the file; a target that refuses that gets every {@link #CHUNK_BYTES} as one chunk of a
 * fresh upload instead. {@link #complete} waits for the end and completes the upload with the digest the builder
 * computed. Closing without completing cancels the upload. At most one copy or chunk buffer is held.
 */
final class StreamingPush implements AutoCloseable {
    /** A chunked upload that can be fed before its digest is known. */
    interface Upload extends AutoCloseable {
        /**
         * Sends all of {@code in} as the whole upload in one request, as the first write; false when the target
         * does not take that (nothing of it is kept: the upload is then fed from offset 0 with {@link #write}).
         */
        default boolean writeStream(InputStream in) throws IOException {
            return false;
        }

        void write(byte[] b, int off, int len) throws IOException;

        void finish(String digest) throws IOException;

        /** Cancels an unfinished upload. */
        @Override
        void close();
    }

    static final int CHUNK_BYTES = 8 << 20;
    /** A streamed read waits for this much new data (or the end), so that the request is not sent in slivers. */
    static final int MIN_READ_BYTES = 256 << 10;
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
        try {
            while (!Files.exists(file)) {
                if (aborted || written) {
                    return;
                }
                Thread.sleep(10);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                GrowingFileStream stream = new GrowingFileStream(ch);
                if (upload.writeStream(stream)) {
                    sent = stream.position;
                    return;
                }
                sendChunks(ch);
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
     * The chunked way: one {@link Upload#write} per {@link #CHUNK_BYTES} of the file, from its start, read through a
     * fresh {@link GrowingFileStream} (which waits for the builder as the streamed request does).
     */
    private void sendChunks(FileChannel ch) throws IOException {
        GrowingFileStream from = new GrowingFileStream(ch);
        byte[] chunk = new byte[CHUNK_BYTES];
        int n;
        while ((n = from.readNBytes(chunk, 0, CHUNK_BYTES)) > 0) {
            upload.write(chunk, 0, n);
            sent += n;
        }
    }

    /**
     * The growing file from its start: a read waits until the builder has appended more (at least
     * {@link #MIN_READ_BYTES}, or anything once it closed the file) and ends at the final size. Fails when the push
     * is aborted, which ends the request without completing it.
     */
    private final class GrowingFileStream extends InputStream {
        private final FileChannel ch;
        long position;

        GrowingFileStream(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (true) {
                if (aborted) {
                    throw new IOException("streaming " + file + " was cancelled after " + position + " bytes");
                }
                boolean last = written; // read before the size: once written is seen, the size is final
                long available = ch.size() - position;
                if (available < 0) {
                    throw new IOException("blob file " + file + " shrank while it was streamed");
                }
                if (available >= Math.min(len, MIN_READ_BYTES) || last && available > 0) {
                    int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, available)), position);
                    if (n < 0) {
                        throw new IOException("blob file " + file + " shrank while it was streamed");
                    }
                    position += n;
                    return n;
                }
                if (last) {
                    return -1;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while streaming " + file, e);
                }
            }
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
            throw new IOException("streaming blob " + digest + " from " + file + " failed: " + error.getMessage(),
                    error);
        }
        if (sent != size) {
            throw new IOException("streamed " + sent + " bytes of the " + size + "-byte blob " + digest);
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
