package dev.nydus4j.storage.device;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.cache.ChunkMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chunk → bytes over storage backends, with an optional local blob cache in upstream's work_dir layout
 * ({@code <blob>.blob.data} holding plain chunk bytes at their uncompressed offsets, plus
 * {@code <blob>.blob.data.chunk_map}). A missing chunk is fetched from the backend once even when several threads
 * want it at the same time; the others wait for that fetch. Thread-safe; the owner closes it, which closes every
 * backend and cache file it opened.
 */
public final class BlobDevice implements ChunkReader {
    private static final Logger LOG = LoggerFactory.getLogger(BlobDevice.class);

    /** Opens the backend of one blob. */
    @FunctionalInterface
    public interface BackendOpener {
        BlobBackend open(String blobId) throws IOException;
    }

    private final BackendOpener opener;
    private final Path workDir;
    private final boolean validate;
    private final Map<String, CachedBlob> blobs = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<byte[]>> inflight = new ConcurrentHashMap<>();
    private final BackendStats stats = new BackendStats();
    private final AtomicLong cacheHits = new AtomicLong();
    private final AtomicLong cacheMisses = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param opener   opens a blob's backend on first use
     * @param workDir  cache directory, created if missing; null for no cache (every read goes to the backend)
     * @param validate verify every fetched chunk against its digest
     */
    public BlobDevice(BackendOpener opener, Path workDir, boolean validate) throws IOException {
        this.opener = java.util.Objects.requireNonNull(opener, "opener is null");
        this.workDir = workDir;
        this.validate = validate;
        if (workDir != null) {
            Files.createDirectories(workDir);
        }
    }

    @Override
    public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
        if (closed) {
            throw new IOException("blob device is closed");
        }
        CachedBlob cb = blob(blob);
        if (cb.map != null && cb.map.isReady(info.index())) {
            cb.readPlain(info, dst);
            cacheHits.incrementAndGet();
            return;
        }
        cacheMisses.incrementAndGet();
        String key = blob.blobId() + ":" + info.index() + ":" + info.compressedOffset();
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inflight.putIfAbsent(key, mine);
        if (running == null) {
            try {
                byte[] plain = fetch(cb, blob, info, expectedDigest);
                mine.complete(plain);
            } catch (IOException | RuntimeException e) {
                mine.completeExceptionally(e);
            } finally {
                inflight.remove(key, mine);
            }
            running = mine;
        }
        byte[] plain;
        try {
            plain = running.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for " + key);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io instanceof CorruptImageException ce
                        ? new CorruptImageException(ce.resource(), ce.offset(), stripped(ce), ce)
                        : new IOException(c.getMessage(), c);
            }
            throw new IOException("fetching " + key + " failed: " + c, c);
        }
        System.arraycopy(plain, 0, dst, 0, info.uncompressedSize());
    }

    @Override
    public boolean readCached(BlobInfo blob, ChunkInfo info, int from, ByteBuffer dst) throws IOException {
        if (closed) {
            throw new IOException("blob device is closed");
        }
        int len = dst.remaining();
        if (from < 0 || len > info.uncompressedSize() - from) {
            throw new IllegalArgumentException("range " + from + "+" + len + " outside chunk " + info.index()
                    + " of " + info.uncompressedSize() + " bytes");
        }
        CachedBlob cb = blob(blob);
        if (cb.map == null || !cb.map.isReady(info.index())) {
            return false;
        }
        cb.readPlainRange(info, from, dst);
        cacheHits.incrementAndGet();
        return true;
    }

    private static String stripped(CorruptImageException e) {
        String m = e.getMessage();
        int i = m.lastIndexOf(" (resource=");
        return i > 0 ? m.substring(0, i) : m;
    }

    private byte[] fetch(CachedBlob cb, BlobInfo blob, ChunkInfo info, byte[] digest) throws IOException {
        int n = info.compressedSize();
        if (n <= 0 || info.uncompressedSize() <= 0) {
            throw new CorruptImageException("blob " + blob.blobId() + " chunk " + info.index(), info.compressedOffset(),
                    "invalid chunk sizes: stored " + n + ", plain " + info.uncompressedSize());
        }
        byte[] stored = new byte[n];
        ByteBuffer buf = ByteBuffer.wrap(stored);
        long t0 = System.nanoTime();
        try {
            BlobBackend backend = cb.backend();
            while (buf.hasRemaining()) {
                int r = backend.read(buf, info.compressedOffset() + buf.position());
                if (r <= 0) {
                    throw new CorruptImageException("blob " + blob.blobId(), info.compressedOffset() + buf.position(),
                            "blob is truncated: chunk " + info.index() + " needs " + n + " bytes at offset "
                                    + info.compressedOffset() + ", got " + buf.position());
                }
            }
        } catch (IOException | RuntimeException e) {
            stats.failure();
            throw e;
        }
        stats.success(n, System.nanoTime() - t0);
        LOG.trace("fetched blob {} chunk {} ({} bytes) in {} us", blob.blobId(), info.index(), n,
                (System.nanoTime() - t0) / 1000);
        byte[] plain = new byte[info.uncompressedSize()];
        ChunkDecoder.decode(blob, info, stored, 0, validate ? digest : null, plain);
        if (cb.map != null) {
            cb.writePlain(info, plain);
        }
        return plain;
    }

    private CachedBlob blob(BlobInfo blob) throws IOException {
        CachedBlob cb = blobs.get(blob.blobId());
        if (cb != null) {
            return cb;
        }
        synchronized (blobs) {
            cb = blobs.get(blob.blobId());
            if (cb == null) {
                cb = new CachedBlob(blob);
                blobs.put(blob.blobId(), cb);
            }
            return cb;
        }
    }

    /** Backend reads so far. */
    public long backendReadCount() {
        return stats.readCount();
    }

    /** Bytes read from backends so far. */
    public long backendReadBytes() {
        return stats.readBytes();
    }

    /** Backend read counters. */
    public BackendStats backendStats() {
        return stats;
    }

    /** Cache directory, or null without a cache. */
    public Path workDir() {
        return workDir;
    }

    /** Cache data files currently open ({@code <blob>.blob.data}). */
    public java.util.List<String> cacheFiles() {
        return blobs.values().stream().filter(b -> b.map != null).map(b -> b.blobId + ".blob.data").sorted().toList();
    }

    /** Whether every chunk of every opened blob is in the cache. */
    public boolean allCached() {
        return blobs.values().stream().allMatch(b -> b.map != null && b.map.readyCount() == b.map.chunkCount());
    }

    public long cacheHits() {
        return cacheHits.get();
    }

    public long cacheMisses() {
        return cacheMisses.get();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        IOException first = null;
        for (CachedBlob cb : blobs.values()) {
            try {
                cb.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        blobs.clear();
        if (first != null) {
            throw first;
        }
    }

    /** Backend handle and cache files of one blob. */
    private final class CachedBlob implements AutoCloseable {
        private final String blobId;
        private final ChunkMap map;
        private final FileChannel data;
        private volatile BlobBackend backend;

        CachedBlob(BlobInfo blob) throws IOException {
            this.blobId = blob.blobId();
            if (workDir == null || blob.chunkCount() <= 0) {
                // no cache, or a legacy blob whose chunk count is unknown: read through
                this.map = null;
                this.data = null;
                return;
            }
            if (!blobId.matches("[0-9a-zA-Z._-]{1,255}") || blobId.startsWith(".")) {
                throw new CorruptImageException("blob table", -1, "invalid blob id '" + blobId + "'");
            }
            Path dataPath = workDir.resolve(blobId + ".blob.data");
            ChunkMap m = ChunkMap.open(workDir.resolve(blobId + ".blob.data.chunk_map"), blob.chunkCount(),
                    ChunkMap.Mode.UNCOMPRESSED);
            FileChannel d = null;
            try {
                d = FileChannel.open(dataPath, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                if (m.wasReset() && d.size() > 0) {
                    LOG.warn("cache of blob {} in {} did not match this cache mode or chunk count; starting empty",
                            blobId, workDir);
                    d.truncate(0);
                }
            } catch (IOException | RuntimeException e) {
                m.close();
                if (d != null) {
                    d.close();
                }
                throw e;
            }
            this.map = m;
            this.data = d;
        }

        BlobBackend backend() throws IOException {
            BlobBackend b = backend;
            if (b == null) {
                synchronized (this) {
                    b = backend;
                    if (b == null) {
                        b = opener.open(blobId);
                        backend = b;
                    }
                }
            }
            return b;
        }

        void readPlain(ChunkInfo info, byte[] dst) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(dst, 0, info.uncompressedSize());
            while (buf.hasRemaining()) {
                int r = data.read(buf, info.uncompressedOffset() + buf.position());
                if (r < 0) {
                    throw new CorruptImageException(workDir.resolve(blobId + ".blob.data").toString(),
                            info.uncompressedOffset(), "cache file shorter than its chunk map claims");
                }
            }
        }

        /** Reads part of a cached chunk straight into the caller's buffer (sequential FUSE reads: no 1 MiB copy). */
        void readPlainRange(ChunkInfo info, int from, ByteBuffer dst) throws IOException {
            long pos = info.uncompressedOffset() + from;
            while (dst.hasRemaining()) {
                int r = data.read(dst, pos);
                if (r < 0) {
                    throw new CorruptImageException(workDir.resolve(blobId + ".blob.data").toString(), pos,
                            "cache file shorter than its chunk map claims");
                }
                pos += r;
            }
        }

        void writePlain(ChunkInfo info, byte[] plain) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(plain, 0, info.uncompressedSize());
            while (buf.hasRemaining()) {
                data.write(buf, info.uncompressedOffset() + buf.position());
            }
            map.setReady(info.index()); // only after every byte is written
        }

        @Override
        public void close() throws IOException {
            try (BlobBackend b = backend; ChunkMap m = map; FileChannel d = data) {
                // closes all three
            }
        }
    }
}
