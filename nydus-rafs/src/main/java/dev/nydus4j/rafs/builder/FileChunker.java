package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Cuts file contents into chunk-size pieces, digests them and stores each new piece once. The caller's thread
 * only reads (sources are single streams); digests (and, when a compressor is given, the compressed bytes) are
 * computed by a pool of hash threads, and one writer
 * thread takes the chunks in submission order, deduplicates them ({@link ChunkIndex}) and hands new ones to the
 * blob sink. Because decisions are made in submission order, the blob and the chunk lists are identical to a
 * sequential run. Memory is bounded: at most {@code min(8 * hashThreads + 8, 64)} chunk buffers, each with a buffer
 * for its compressed form, are in flight, fewer for large chunks (see {@link #MAX_OWN_BUFFERS}); {@code threads + 2}
 * with a {@link HashPool} shared between builds.
 *
 * <p>Chunk lists passed to {@link #chunk} are filled asynchronously; read them only after {@link #drain()}.
 * With {@code hashThreads == 0} everything happens on the caller's thread. Owns its threads: {@link #close()}
 * stops them (idempotent). Used by one producer thread.
 */
final class FileChunker implements AutoCloseable {
    /** Supplies the blob sink on first need, so a build without new chunks creates no blob. */
    interface SinkSupplier {
        BlobSink get() throws IOException;
    }

    /** One chunk on its way from the reader to the writer; a null buffer marks a drain barrier. */
    private record Pending(byte[] buf, int len, long fileOffset, Future<Prepared> prepared, List<ChunkRef> target,
                           String what, CountDownLatch barrier) {
    }

    /** What a hash thread computed for a chunk: its digest and, with a compressor, its compressed form. */
    private record Prepared(byte[] digest, byte[] packed, int packedLen) {
    }

    private static final AtomicInteger POOL_IDS = new AtomicInteger();
    /**
     * Chunk buffers of a build with its own hash threads. Chunks are stored in order and a buffer comes back only
     * once its chunk is written, so one slow chunk (zstd takes ~4x longer on text than on random bytes; a hash thread
     * descheduled while the cores also run the reader and the writer) holds up every buffer behind it: with {@code
     * 2 * threads + 2} buffers a core had nothing to run (reader waiting for a buffer, writer for the oldest chunk,
     * at most one hash thread busy) in 5.5-10.8 % of the samples of a tar.gz conversion on 2 cores; with {@code 8 *
     * threads + 8} in 0.4-1.5 % (benchmarks/RESULTS.md, session 4 task B). The caps bound memory on many-core
     * machines and for large chunks: at most 64 buffers and {@link #OWN_BUFFER_BYTES} of chunk buffers, but never
     * fewer than {@code 2 * threads + 2}.
     */
    private static final int MAX_OWN_BUFFERS = 64;
    private static final int OWN_BUFFER_BYTES = 32 << 20;
    private static final Pending STOP = new Pending(null, 0, 0, null, null, "stop", null);

    private final int chunkSize;
    private final DigestAlgorithm digester;
    /** Compresses on the hash threads when non-null (must be the sink's compressor); null: the sink compresses. */
    private final CompressionAlgorithm compressor;
    /** Compressed-bytes buffer paired with each chunk buffer (identity keys: arrays do not override equals). */
    private final Map<byte[], byte[]> packedBuffers = new ConcurrentHashMap<>();
    private final ChunkIndex index;
    private final SinkSupplier sink;
    private final ExecutorService hashPool;
    /** The pool shared with other builds ({@link #hashPool} is its executor, not shut down here), or null. */
    private final HashPool shared;
    private final Thread writer;
    private final BlockingQueue<byte[]> freeBuffers;
    private final BlockingQueue<Pending> ordered;
    private final int maxBuffers;
    private int allocatedBuffers;
    private byte[] syncBuffer;
    /** The bytes of every chunk in a hole, and their digest for a whole chunk (set by the reading thread). */
    private volatile byte[] zeros;
    private byte[] zeroChunkDigest;
    private volatile Throwable failure;
    /** Chunks queued for the writer and not stored yet. */
    private final AtomicInteger pendingStores = new AtomicInteger();
    /** Held while a chunk is stored (the writer, or the reading thread in {@link #chunkInline}). */
    private final Object storeLock = new Object();
    private volatile boolean closed;
    private long newChunks;
    private long reusedChunks;

    FileChunker(int chunkSize, DigestAlgorithm digester, ChunkIndex index, SinkSupplier sink, int hashThreads) {
        this(chunkSize, digester, null, index, sink, hashThreads);
    }

    /**
     * @param compressor the build's compressor, applied on the hash threads (the writer thread then only writes);
     *                   null leaves compression to the sink
     */
    FileChunker(int chunkSize, DigestAlgorithm digester, CompressionAlgorithm compressor, ChunkIndex index,
                SinkSupplier sink, int hashThreads) {
        this(chunkSize, digester, compressor, index, sink, hashThreads, null);
    }

    /**
     * @param shared when non-null, chunks are digested and compressed on this pool of threads shared with other
     *               builds running at the same time (or on the caller's thread while the pool has no spare thread,
     *               see {@link HashPool}); {@code hashThreads} is then ignored
     */
    FileChunker(int chunkSize, DigestAlgorithm digester, CompressionAlgorithm compressor, ChunkIndex index,
                SinkSupplier sink, int hashThreads, HashPool shared) {
        this.chunkSize = chunkSize;
        this.digester = Objects.requireNonNull(digester, "digester is null");
        this.compressor = compressor == CompressionAlgorithm.NONE ? null : compressor;
        this.index = Objects.requireNonNull(index, "index is null");
        this.sink = Objects.requireNonNull(sink, "sink is null");
        if (hashThreads < 0) {
            throw new IllegalArgumentException("hashThreads must be >= 0, got " + hashThreads);
        }
        if (shared != null) {
            hashThreads = shared.threads();
        }
        this.shared = shared;
        if (hashThreads == 0) {
            this.hashPool = null;
            this.writer = null;
            this.freeBuffers = null;
            this.ordered = null;
            this.maxBuffers = 0;
            return;
        }
        int id = POOL_IDS.incrementAndGet();
        this.hashPool = shared != null ? shared.executor() : HashPool.newExecutor(hashThreads, "nydus-builder-" + id);
        // a shared pool's threads also serve other builds: fewer buffers per build keep the total bounded
        this.maxBuffers = shared != null ? hashThreads + 2 : ownBuffers(hashThreads, chunkSize);
        this.freeBuffers = new ArrayBlockingQueue<>(maxBuffers);
        this.ordered = new ArrayBlockingQueue<>(maxBuffers + 1);
        this.writer = new Thread(this::writeLoop, "nydus-builder-" + id + "-writer");
        this.writer.setDaemon(true);
        this.writer.start();
        if (shared != null) {
            shared.enter();
        }
    }

    /** Chunk buffers in flight for a build with {@code hashThreads} threads of its own ({@link #MAX_OWN_BUFFERS}). */
    static int ownBuffers(int hashThreads, int chunkSize) {
        int deep = Math.min(Math.min(8 * hashThreads + 8, MAX_OWN_BUFFERS), OWN_BUFFER_BYTES / Math.max(1, chunkSize));
        return Math.max(2 * hashThreads + 2, deep);
    }

    /**
     * Reads exactly {@code size} bytes of {@code in}; the file's chunk references are appended to {@code target}
     * in file order (after {@link #drain()} at the latest).
     *
     * @param what names the file in error messages
     */
    void chunk(InputStream in, long size, String what, List<ChunkRef> target) throws IOException {
        chunk(in, size, what, target, null);
    }

    /**
     * As {@link #chunk(InputStream, long, String, List)} for a file whose {@code holes} are known (null: none): a
     * chunk that lies in a hole is skipped in {@code in}, not read, and is the all-zero chunk.
     */
    void chunk(InputStream in, long size, String what, List<ChunkRef> target, FileHoles holes) throws IOException {
        if (size < 0) {
            throw new IOException(what + ": negative size " + size);
        }
        long off = 0;
        while (off < size) {
            rethrowFailure();
            int want = (int) Math.min(chunkSize, size - off);
            if (holes != null && holes.isHole(off, want)) {
                holeChunk(in, want, off, target, what);
                off += want;
                continue;
            }
            byte[] buf = takeBuffer();
            int got;
            try {
                got = in.readNBytes(buf, 0, want);
            } catch (IOException e) {
                giveBack(buf);
                throw new IOException(what + ": reading data failed at byte " + off + " of " + size + ": "
                        + e.getMessage(), e);
            }
            if (got < want) {
                giveBack(buf);
                throw new IOException(what + ": expected " + size + " bytes of data but the input ended after "
                        + (off + got) + " (truncated archive or file changed while reading)");
            }
            if (hashPool == null) {
                try {
                    target.add(store(buf, want, digester.digest(buf, 0, want), off));
                } catch (IOException e) {
                    throw new IOException(what + ": " + e.getMessage(), e);
                }
            } else {
                if (shared == null || shared.hasSpareThreads()) {
                    put(new Pending(buf, want, off, hashPool.submit(() -> prepare(buf, want)), target, what, null));
                } else {
                    chunkInline(buf, want, off, target, what);
                }
            }
            off += want;
        }
    }

    /**
     * A chunk in a hole of the source file: skipped in {@code in}, not read; its bytes are {@link #zeros} (never
     * written, never pooled), whose digest is computed once.
     */
    private void holeChunk(InputStream in, int len, long off, List<ChunkRef> target, String what)
            throws IOException {
        try {
            in.skipNBytes(len);
        } catch (IOException e) {
            throw new IOException(what + ": skipping a hole failed at byte " + off + ": " + e.getMessage(), e);
        }
        if (zeros == null) {
            zeros = new byte[chunkSize];
        }
        byte[] digest;
        if (len == chunkSize && zeroChunkDigest != null) {
            digest = zeroChunkDigest;
        } else {
            digest = digester.digest(zeros, 0, len);
            if (len == chunkSize) {
                zeroChunkDigest = digest;
            }
        }
        if (hashPool == null) {
            try {
                target.add(store(zeros, len, digest, off));
            } catch (IOException e) {
                throw new IOException(what + ": " + e.getMessage(), e);
            }
        } else {
            // no compressed bytes: the sink compresses the zeros itself the one time they are new
            put(new Pending(zeros, len, off, CompletableFuture.completedFuture(new Prepared(digest, null, -1)),
                    target, what, null));
        }
    }

    /**
     * A chunk of a build on a shared pool without a spare thread: digested and compressed here, on the reading
     * thread (every core already reads a build); also stored here while the writer has nothing queued (no copy of
     * the compressed bytes to another core), else queued behind what the writer still has.
     */
    private void chunkInline(byte[] buf, int len, long off, List<ChunkRef> target, String what) throws IOException {
        Prepared p;
        try {
            p = prepare(buf, len);
        } catch (RuntimeException e) {
            giveBack(buf);
            throw new IOException(what + ": digesting a chunk failed: " + e, e);
        }
        // only this thread queues chunks: once the writer has stored all of them, nothing comes before this one
        if (pendingStores.get() == 0 && failure == null) {
            try {
                synchronized (storeLock) {
                    target.add(store(buf, len, p, off));
                }
            } catch (IOException e) {
                throw new IOException(what + ": " + e.getMessage(), e);
            } finally {
                giveBack(buf);
            }
        } else {
            put(new Pending(buf, len, off, CompletableFuture.completedFuture(p), target, what, null));
        }
    }

    /** Waits until every submitted chunk is stored; rethrows the first failure. */
    void drain() throws IOException {
        if (hashPool != null) {
            CountDownLatch done = new CountDownLatch(1);
            put(new Pending(null, 0, 0, null, null, null, done));
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for chunks to be stored", e);
            }
        }
        rethrowFailure();
    }

    long newChunks() {
        return newChunks;
    }

    long reusedChunks() {
        return reusedChunks;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (hashPool != null) {
            // a stop marker rather than an interrupt: the writer may be inside a blob write (FileChannel
            // closes on interrupt); it finishes what is queued, then exits
            try {
                while (writer.isAlive() && !ordered.offer(STOP, 100, TimeUnit.MILLISECONDS)) {
                    // queue full: the writer is still working through it
                }
                writer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (shared == null) {
                    hashPool.shutdown();
                } else {
                    shared.leave();
                }
            }
        }
    }

    /** Digest (and compression) of one chunk; runs on a hash thread. */
    private Prepared prepare(byte[] buf, int len) {
        byte[] digest = digester.digest(buf, 0, len);
        if (compressor == null) {
            return new Prepared(digest, null, -1);
        }
        // compressed before the dedup decision: duplicates are rare, and this keeps the writer thread light
        byte[] packed = packedBuffers.computeIfAbsent(buf, b -> new byte[compressor.maxCompressedLength(chunkSize)]);
        return new Prepared(digest, packed, compressor.compress(buf, 0, len, packed, 0));
    }

    /** Dedup decision and store; runs on the writer thread (or the caller's in sequential mode). */
    private ChunkRef store(byte[] buf, int len, byte[] digest, long off) throws IOException {
        return store(buf, len, new Prepared(digest, null, -1), off);
    }

    private ChunkRef store(byte[] buf, int len, Prepared p, long off) throws IOException {
        byte[] digest = p.digest();
        ChunkRef ref = index.lookup(digest);
        if (ref == null) {
            ChunkInfo info = p.packed() == null ? sink.get().addChunk(buf, 0, len, digest)
                    : sink.get().addChunk(buf, 0, len, p.packed(), p.packedLen(), digest);
            ref = new ChunkRef(index.newBlobIndex(), digest, info, off);
            index.addNew(ref);
            newChunks++;
            return ref;
        }
        reusedChunks++;
        return ref.withFileOffset(off);
    }

    private void writeLoop() {
        while (true) {
            Pending p;
            try {
                p = ordered.take();
            } catch (InterruptedException e) {
                return;
            }
            if (p == STOP) {
                return;
            }
            if (p.barrier != null) {
                p.barrier.countDown();
                continue;
            }
            try {
                if (failure == null) {
                    Prepared prepared = p.prepared.get();
                    synchronized (storeLock) {
                        p.target.add(store(p.buf, p.len, prepared, p.fileOffset));
                    }
                }
            } catch (InterruptedException e) {
                failure = new IOException(p.what + ": interrupted while storing a chunk", e);
            } catch (ExecutionException e) {
                failure = new IOException(p.what + ": digesting a chunk failed: " + e.getCause(), e.getCause());
            } catch (Throwable t) { // recorded and rethrown on the producer thread, never lost
                failure = t instanceof IOException io ? new IOException(p.what + ": " + io.getMessage(), io) : t;
            } finally {
                if (p.buf != zeros) {
                    freeBuffers.offer(p.buf);
                }
                pendingStores.decrementAndGet();
            }
        }
    }

    private byte[] takeBuffer() throws IOException {
        if (hashPool == null) {
            if (syncBuffer == null) {
                syncBuffer = new byte[chunkSize];
            }
            return syncBuffer;
        }
        byte[] b = freeBuffers.poll();
        if (b != null) {
            return b;
        }
        if (allocatedBuffers < maxBuffers) {
            allocatedBuffers++;
            return new byte[chunkSize];
        }
        try {
            while (true) {
                b = freeBuffers.poll(100, TimeUnit.MILLISECONDS);
                if (b != null) {
                    return b;
                }
                rethrowFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a chunk buffer", e);
        }
    }

    private void giveBack(byte[] buf) {
        if (hashPool != null) {
            freeBuffers.offer(buf);
        }
    }

    private void put(Pending p) throws IOException {
        boolean chunk = p.buf != null;
        if (chunk) {
            pendingStores.incrementAndGet();
        }
        try {
            ordered.put(p);
        } catch (InterruptedException e) {
            if (chunk) {
                pendingStores.decrementAndGet();
            }
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while queueing a chunk", e);
        }
    }

    private void rethrowFailure() throws IOException {
        Throwable f = failure;
        if (f == null) {
            return;
        }
        if (f instanceof IOException io) {
            throw io;
        }
        if (f instanceof RuntimeException re) {
            throw re;
        }
        if (f instanceof Error err) {
            throw err;
        }
        throw new IOException(f);
    }
}
