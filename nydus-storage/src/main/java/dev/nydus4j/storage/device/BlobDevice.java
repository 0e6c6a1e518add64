package dev.nydus4j.storage.device;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendMetrics;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheContext;
import dev.nydus4j.spi.BlobCacheMetrics;
import dev.nydus4j.spi.BlobCacheProvider;
import dev.nydus4j.spi.CacheBlobInfo;
import dev.nydus4j.spi.CacheChunk;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.cache.CacheRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chunk → bytes over storage backends and a {@link BlobCache} (any {@link BlobCacheProvider}: {@code blobcache}
 * keeps upstream's work_dir layout, {@code dummycache} keeps nothing).
 *
 * <p>Read path (BACKENDS.md 10.1): a chunk present in the cache is read from it (and decoded when the cache keeps
 * compressed bytes). A missing chunk is fetched once even when several threads want it at the same time: the
 * others wait for that fetch. With a persistent cache and the blob's chunk table ({@link #addChunks}), the fetch is
 * merged with the following chunks of the blob that are contiguous, missing and not being fetched by someone else,
 * into one backend range of at most {@code max(amplify_io, 128 KiB)}; every chunk of the range is decoded, verified
 * (CRC-32C when recorded; digest when validation is on) and stored in the cache before it is marked present. A
 * range that fails part-way marks no chunk. Prefetch reads through the same path and so is merged the same way.
 *
 * <p>Backends are opened on first use with a {@link BackendContext} whose executor is the device's
 * {@link BoundedExecutor} and whose metrics feed {@link #backendStats()}. Thread-safe; the owner closes it, which
 * closes every backend and cache it opened and shuts the executor down.
 */
public final class BlobDevice implements ChunkReader {
    private static final Logger LOG = LoggerFactory.getLogger(BlobDevice.class);
    /** Upstream's floor of a merged on-demand request (CONFIG.md A6). */
    public static final int MIN_MERGE_SIZE = 128 << 10;
    /** Default {@code amplify_io}. */
    public static final int DEFAULT_AMPLIFY_IO = 1 << 20;

    /** When a missing chunk's fetch is extended to the following chunks of the blob. */
    public enum Amplification {
        /** Always, up to the merge limit (upstream nydusd's behaviour). */
        ALWAYS,
        /**
         * Only when the read looks sequential, like the kernel's readahead: the chunk follows the last chunk read
         * from the blob, is the blob's first chunk, or the chunk before it is cached. An isolated random read
         * fetches just its chunk, so sampled small-file reads do not pull in neighbours that are never read.
         */
        ADAPTIVE
    }

    /** Opens the backend of one blob. */
    @FunctionalInterface
    public interface BackendOpener {
        BlobBackend open(String blobId) throws IOException;
    }

    /** Opens the backend of one blob with the device's context (bounded executor, metrics). */
    @FunctionalInterface
    public interface ContextualOpener {
        BlobBackend open(String blobId, BackendContext context) throws IOException;
    }

    private final ContextualOpener opener;
    private final BlobCacheProvider cacheProvider;
    private final CacheConfig cacheConfig;
    private final BlobCacheContext cacheContext;
    private final BlobCacheMetrics cacheMetrics;
    private final boolean validate;
    private final int mergeLimit;
    private final Amplification amplification;
    private final BoundedExecutor executor;
    private final BackendContext backendContext;
    private final Map<String, BlobState> blobs = new ConcurrentHashMap<>();
    private final Map<ChunkKey, CompletableFuture<byte[]>> inflight = new ConcurrentHashMap<>();
    private final BackendStats stats = new BackendStats();
    private final AtomicLong cacheHits = new AtomicLong();
    private final AtomicLong partialHits = new AtomicLong();
    private final AtomicLong cacheMisses = new AtomicLong();
    private final AtomicLong cacheStoredBytes = new AtomicLong();
    private volatile boolean closed;

    private record ChunkKey(String blobId, int index, long offset) {
    }

    /**
     * A device with the built-in {@code blobcache} in {@code workDir} (uncompressed mode), or no cache when
     * {@code workDir} is null, and the default {@code amplify_io}.
     *
     * @param opener   opens a blob's backend on first use
     * @param workDir  cache directory, created if missing; null for no cache (every read goes to the backend)
     * @param validate verify every fetched chunk against its digest
     */
    public BlobDevice(BackendOpener opener, Path workDir, boolean validate) throws IOException {
        this(builder().backend(opener).cache(CacheRegistry.builtIn(), workDir == null
                ? new CacheConfig("dummycache", false, validate, PrefetchConfig.DISABLED, "")
                : new CacheConfig("blobcache", false, validate, PrefetchConfig.DISABLED, workDir.toString()))
                .validate(validate));
    }

    private BlobDevice(Builder b) {
        this.opener = Objects.requireNonNull(b.opener, "no backend opener");
        this.cacheConfig = b.cacheConfig;
        this.cacheProvider = b.cacheProvider;
        this.validate = b.validate;
        this.mergeLimit = (int) Math.max(MIN_MERGE_SIZE, Math.min(b.amplifyIo, 1 << 28));
        this.amplification = b.amplification;
        this.executor = new BoundedExecutor("blob-device-" + b.instanceId, b.threads, b.queue);
        // the device records every backend read it makes in backendStats(); plugins get no second sink to count in
        this.backendContext = new BackendContext(b.instanceId, executor, Clock.systemUTC(), BackendMetrics.NONE,
                BlobBackendProvider.SPI_VERSION);
        BlobCacheMetrics external = b.cacheMetrics;
        this.cacheMetrics = new BlobCacheMetrics() {
            @Override
            public void hit(boolean whole) {
                (whole ? cacheHits : partialHits).incrementAndGet();
                external.hit(whole);
            }

            @Override
            public void miss() {
                cacheMisses.incrementAndGet();
                external.miss();
            }

            @Override
            public void stored(long bytes) {
                cacheStoredBytes.addAndGet(bytes);
                external.stored(bytes);
            }
        };
        this.cacheContext = new BlobCacheContext(b.instanceId, cacheMetrics, BlobCacheProvider.SPI_VERSION);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a {@link BlobDevice}. */
    public static final class Builder {
        private ContextualOpener opener;
        private BlobCacheProvider cacheProvider;
        private CacheConfig cacheConfig;
        private boolean validate = true;
        private long amplifyIo = DEFAULT_AMPLIFY_IO;
        private Amplification amplification = Amplification.ALWAYS;
        private BlobCacheMetrics cacheMetrics = BlobCacheMetrics.NONE;
        private String instanceId = "/";
        private int threads = 4;
        private int queue = 256;

        private Builder() {
        }

        public Builder backend(BackendOpener o) {
            Objects.requireNonNull(o, "opener is null");
            this.opener = (id, ctx) -> o.open(id);
            return this;
        }

        /** Backend opener that receives the device's context (bounded executor, metrics). */
        public Builder backend(ContextualOpener o) {
            this.opener = Objects.requireNonNull(o, "opener is null");
            return this;
        }

        /** The cache section and the registry resolving its type (fails listing the available types). */
        public Builder cache(CacheRegistry registry, CacheConfig config) {
            this.cacheProvider = registry.provider(config);
            this.cacheConfig = config;
            return this;
        }

        /** Verify every fetched chunk against its digest (nydusd {@code digest_validate}/{@code cache.validate}). */
        public Builder validate(boolean v) {
            this.validate = v;
            return this;
        }

        /** Upper bound of one merged on-demand backend request ({@code amplify_io}, v2 {@code batch_size}). */
        public Builder amplifyIo(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("amplify_io must not be negative, got " + bytes);
            }
            this.amplifyIo = bytes;
            return this;
        }

        /** When fetches are extended to following chunks (default {@link Amplification#ALWAYS}). */
        public Builder amplification(Amplification a) {
            this.amplification = Objects.requireNonNull(a, "amplification is null");
            return this;
        }

        /** Also reports cache hits, misses and stored bytes to {@code sink} (besides the device's own counters). */
        public Builder cacheMetrics(BlobCacheMetrics sink) {
            this.cacheMetrics = Objects.requireNonNull(sink, "sink is null");
            return this;
        }

        /** Instance id for the contexts (mountpoint / config id). */
        public Builder instanceId(String id) {
            this.instanceId = Objects.requireNonNull(id, "id is null");
            return this;
        }

        /** Size of the bounded executor handed to backends. */
        public Builder executor(int threads, int queueCapacity) {
            if (threads < 1 || queueCapacity < 1) {
                throw new IllegalArgumentException("executor needs at least 1 thread and 1 queue slot");
            }
            this.threads = threads;
            this.queue = queueCapacity;
            return this;
        }

        public BlobDevice build() {
            if (cacheProvider == null) {
                cache(CacheRegistry.builtIn(), new CacheConfig("", false, validate, PrefetchConfig.DISABLED, ""));
            }
            return new BlobDevice(this);
        }
    }

    /** The context backends are opened with: its executor is the device's {@link BoundedExecutor}. */
    public BackendContext backendContext() {
        return backendContext;
    }

    /** Largest merged backend request, {@code max(amplify_io, 128 KiB)}. */
    public int mergeLimit() {
        return mergeLimit;
    }

    /**
     * Records the chunk table of {@code blob} (chunk and digest of every chunk an image refers to), which lets
     * on-demand reads merge neighbouring chunks. Chunks listed twice are kept once; may be called again.
     */
    @Override
    public void addChunks(BlobInfo blob, List<ChunkInfo> chunks, List<byte[]> digests) throws IOException {
        if (chunks.size() != digests.size()) {
            throw new IllegalArgumentException(chunks.size() + " chunks but " + digests.size() + " digests");
        }
        blob(blob).setLayout(chunks, digests);
    }

    @Override
    public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
        ensureOpen();
        BlobState s = blob(blob);
        if (s.cache.persistent() && s.cache.contains(info.index()) && s.readCachedWhole(info, dst)) {
            cacheMetrics.hit(true);
            s.lastEnd = info.compressedOffset() + info.compressedSize();
            return;
        }
        cacheMetrics.miss();
        byte[] plain = load(s, info, expectedDigest);
        s.lastEnd = info.compressedOffset() + info.compressedSize();
        System.arraycopy(plain, 0, dst, 0, info.uncompressedSize());
    }

    @Override
    public boolean readCached(BlobInfo blob, ChunkInfo info, int from, ByteBuffer dst) throws IOException {
        ensureOpen();
        int len = dst.remaining();
        if (from < 0 || len > info.uncompressedSize() - from) {
            throw new IllegalArgumentException("range " + from + "+" + len + " outside chunk " + info.index()
                    + " of " + info.uncompressedSize() + " bytes");
        }
        BlobState s = blob(blob);
        if (!s.cache.persistent() || s.cache.storesCompressed() || !s.cache.contains(info.index())) {
            return false;
        }
        if (!s.cache.get(s.cacheChunk(info), from, dst)) {
            return false;
        }
        cacheMetrics.hit(len == info.uncompressedSize());
        s.lastEnd = info.compressedOffset() + info.compressedSize();
        return true;
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("blob device is closed");
        }
    }

    /** Fetches (or waits for the fetch of) a missing chunk; returns its plain bytes. */
    private byte[] load(BlobState s, ChunkInfo info, byte[] digest) throws IOException {
        ChunkKey key = new ChunkKey(s.blobId, info.index(), info.compressedOffset());
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inflight.putIfAbsent(key, mine);
        if (running == null) {
            List<Claim> group = new ArrayList<>();
            group.add(new Claim(key, info, validate ? digest : null, mine));
            try {
                byte[] cached = s.cache.persistent() && s.cache.contains(info.index()) ? s.cachedPlain(info) : null;
                if (cached != null) {
                    // someone completed it between our cache check and our claim
                    mine.complete(cached);
                } else {
                    extend(s, group);
                    fetchGroup(s, group);
                }
            } catch (IOException | RuntimeException | Error e) {
                for (Claim c : group) {
                    c.future.completeExceptionally(e);
                }
            } finally {
                for (Claim c : group) {
                    inflight.remove(c.key, c.future);
                }
            }
            running = mine;
        }
        try {
            return running.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for chunk " + info.index() + " of blob "
                    + s.blobId);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof CorruptImageException ce) {
                throw new CorruptImageException(ce.resource(), ce.offset(), stripped(ce), ce);
            }
            if (c instanceof IOException) {
                throw new IOException(c.getMessage(), c);
            }
            throw new IOException("fetching chunk " + info.index() + " of blob " + s.blobId + " failed: " + c, c);
        }
    }

    /** Adds the following contiguous missing chunks of the blob to {@code group}, up to the merge limit. */
    private void extend(BlobState s, List<Claim> group) {
        Layout layout = s.layout;
        if (layout == null || !s.cache.persistent()) {
            return;
        }
        ChunkInfo first = group.get(0).info;
        int pos = layout.position(first);
        if (pos < 0) {
            return;
        }
        if (amplification == Amplification.ADAPTIVE && pos > 0 && s.lastEnd != first.compressedOffset()
                && !s.cache.contains(layout.sorted[pos - 1].index())) {
            return; // an isolated read: fetch just the chunk
        }
        long start = first.compressedOffset();
        long end = start + first.compressedSize();
        for (int p = pos + 1; p < layout.sorted.length; p++) {
            ChunkInfo n = layout.sorted[p];
            if (n.compressedOffset() != end || n.compressedOffset() + n.compressedSize() - start > mergeLimit
                    || s.cache.contains(n.index())) {
                break;
            }
            ChunkKey k = new ChunkKey(s.blobId, n.index(), n.compressedOffset());
            CompletableFuture<byte[]> f = new CompletableFuture<>();
            if (inflight.putIfAbsent(k, f) != null) {
                break; // another thread fetches it
            }
            group.add(new Claim(k, n, validate ? layout.digests[p] : null, f));
            end = n.compressedOffset() + n.compressedSize();
        }
    }

    /** One backend read for the whole group, then per chunk: decode, verify, store, complete. */
    private void fetchGroup(BlobState s, List<Claim> group) throws IOException {
        for (Claim c : group) {
            if (c.info.compressedSize() <= 0 || c.info.uncompressedSize() <= 0) {
                throw new CorruptImageException("blob " + s.blobId + " chunk " + c.info.index(),
                        c.info.compressedOffset(), "invalid chunk sizes: stored " + c.info.compressedSize()
                        + ", plain " + c.info.uncompressedSize());
            }
        }
        long start = group.get(0).info.compressedOffset();
        ChunkInfo last = group.get(group.size() - 1).info;
        int n = Math.toIntExact(last.compressedOffset() + last.compressedSize() - start);
        byte[] stored = new byte[n];
        ByteBuffer buf = ByteBuffer.wrap(stored);
        long t0 = System.nanoTime();
        try {
            BlobBackend backend = s.backend();
            while (buf.hasRemaining()) {
                int r = backend.read(buf, start + buf.position());
                if (r <= 0) {
                    throw new CorruptImageException("blob " + s.blobId, start + buf.position(),
                            "blob is truncated: " + (group.size() == 1 ? "chunk " + last.index() + " needs "
                                    : "chunks " + group.get(0).info.index() + ".." + last.index() + " need ") + n + " bytes at offset " + start + ", got " + buf.position());
                }
            }
        } catch (IOException | RuntimeException e) {
            stats.failure();
            throw e;
        }
        long nanos = System.nanoTime() - t0;
        stats.success(n, nanos);
        LOG.trace("fetched blob {} chunks {}..{} ({} bytes, {} chunks) in {} us", s.blobId, group.get(0).info.index(),
                last.index(), n, group.size(), nanos / 1000);
        for (Claim c : group) {
            int off = (int) (c.info.compressedOffset() - start);
            try {
                byte[] plain = new byte[c.info.uncompressedSize()];
                ChunkDecoder.decode(s.info, c.info, stored, off, c.digest, plain);
                if (s.cache.persistent()) {
                    store(s, c.info, s.cache.storesCompressed()
                            ? ByteBuffer.wrap(stored, off, c.info.compressedSize()) : ByteBuffer.wrap(plain));
                }
                c.future.complete(plain);
            } catch (IOException | RuntimeException e) {
                c.future.completeExceptionally(e);
            }
        }
    }

    private void store(BlobState s, ChunkInfo info, ByteBuffer bytes) {
        try {
            s.cache.put(s.cacheChunk(info), bytes);
        } catch (IOException | RuntimeException e) {
            // the chunk stays missing (its bit is not set) and is fetched again next time; the reader gets its bytes
            LOG.warn("cannot store chunk {} of blob {} in the cache: {}", info.index(), s.blobId, e.toString());
        }
    }

    private static String stripped(CorruptImageException e) {
        String m = e.getMessage();
        int i = m.lastIndexOf(" (resource=");
        return i > 0 ? m.substring(0, i) : m;
    }

    private BlobState blob(BlobInfo blob) throws IOException {
        BlobState s = blobs.get(blob.blobId());
        if (s != null) {
            return s;
        }
        synchronized (blobs) {
            ensureOpen();
            s = blobs.get(blob.blobId());
            if (s == null) {
                s = new BlobState(blob);
                blobs.put(blob.blobId(), s);
            }
            return s;
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

    /** Cache directory, or null without a persistent cache. */
    public Path workDir() {
        return cacheConfig.workDir().isEmpty() || !cacheProvider.types().contains("blobcache") ? null
                : Path.of(cacheConfig.workDir());
    }

    /** The cache section this device was built with. */
    public CacheConfig cacheConfig() {
        return cacheConfig;
    }

    /** Cache data files currently open (e.g. {@code <blob>.blob.data}), sorted. */
    public List<String> cacheFiles() {
        return blobs.values().stream().flatMap(b -> b.cache.files().stream()).sorted().toList();
    }

    /** Whether every chunk of every opened blob is in the cache. */
    public boolean allCached() {
        return blobs.values().stream().allMatch(b -> b.cache.persistent() && b.info.chunkCount() > 0
                && b.cache.readyCount() == b.info.chunkCount());
    }

    /** Reads of whole chunks served by the cache. */
    public long cacheHits() {
        return cacheHits.get();
    }

    /** Reads of part of a chunk served by the cache. */
    public long partialHits() {
        return partialHits.get();
    }

    public long cacheMisses() {
        return cacheMisses.get();
    }

    /** Bytes written to the cache so far. */
    public long cacheStoredBytes() {
        return cacheStoredBytes.get();
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        synchronized (blobs) {
            closed = true;
            for (BlobState s : blobs.values()) {
                try {
                    s.close();
                } catch (IOException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            blobs.clear();
        }
        executor.shutdownNow();
        if (first != null) {
            throw first;
        }
    }

    /** Per-thread buffer for the stored bytes of compressed-cache hits (no allocation per hit). */
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

    private static byte[] scratch(int size) {
        byte[] b = SCRATCH.get();
        if (b.length < size) {
            b = new byte[Math.max(size, Math.min(b.length * 2, 32 << 20))];
            SCRATCH.set(b);
        }
        return b;
    }

    private record Claim(ChunkKey key, ChunkInfo info, byte[] digest, CompletableFuture<byte[]> future) {
    }

    /** Chunks of one blob sorted by compressed offset, with their digests. Immutable. */
    private static final class Layout {
        final ChunkInfo[] sorted;
        final byte[][] digests;

        Layout(List<ChunkInfo> chunks, List<byte[]> digs) {
            Map<Integer, Integer> byIndex = new java.util.HashMap<>();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < chunks.size(); i++) {
                if (byIndex.putIfAbsent(chunks.get(i).index(), i) == null) {
                    order.add(i);
                }
            }
            order.sort(Comparator.comparingLong((Integer i) -> chunks.get(i).compressedOffset())
                    .thenComparingInt(i -> chunks.get(i).index()));
            sorted = new ChunkInfo[order.size()];
            digests = new byte[order.size()][];
            for (int p = 0; p < order.size(); p++) {
                sorted[p] = chunks.get(order.get(p));
                digests[p] = digs.get(order.get(p));
            }
        }

        /** Position of {@code c} in {@link #sorted}, or -1 when the table does not hold exactly this chunk. */
        int position(ChunkInfo c) {
            int lo = 0;
            int hi = sorted.length - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                ChunkInfo m = sorted[mid];
                int cmp = m.compressedOffset() != c.compressedOffset()
                        ? Long.compare(m.compressedOffset(), c.compressedOffset())
                        : Integer.compare(m.index(), c.index());
                if (cmp < 0) {
                    lo = mid + 1;
                } else if (cmp > 0) {
                    hi = mid - 1;
                } else {
                    return m.equals(c) ? mid : -1;
                }
            }
            return -1;
        }
    }

    /** Backend handle, cache and chunk table of one blob. */
    private final class BlobState implements AutoCloseable {
        final String blobId;
        final BlobInfo info;
        final BlobCache cache;
        volatile Layout layout;
        /** Compressed end of the chunk last read from this blob (sequential detection), -1 before any read. */
        volatile long lastEnd = -1;
        private volatile BlobBackend backend;

        BlobState(BlobInfo blob) throws IOException {
            this.blobId = blob.blobId();
            this.info = blob;
            CacheBlobInfo cbi = new CacheBlobInfo(blob.blobId(), Math.max(blob.chunkCount(), 0),
                    blob.compressedSize(), blob.uncompressedSize());
            // a legacy blob whose chunk count is unknown cannot have a readiness map: read through
            this.cache = blob.chunkCount() <= 0
                    ? CacheRegistry.builtIn().provider("dummycache").open(cacheConfig, cbi, cacheContext)
                    : cacheProvider.open(cacheConfig, cbi, cacheContext);
        }

        void setLayout(List<ChunkInfo> chunks, List<byte[]> digests) {
            Layout old = layout;
            if (old != null) {
                List<ChunkInfo> all = new ArrayList<>(Arrays.asList(old.sorted));
                List<byte[]> ds = new ArrayList<>(Arrays.asList(old.digests));
                all.addAll(chunks);
                ds.addAll(digests);
                layout = new Layout(all, ds);
            } else {
                layout = new Layout(chunks, digests);
            }
        }

        CacheChunk cacheChunk(ChunkInfo c) {
            return new CacheChunk(c.index(), c.compressedOffset(), c.compressedSize(), c.uncompressedOffset(),
                    c.uncompressedSize());
        }

        /** Reads a cached chunk's plain bytes into dst; false when it vanished meanwhile. */
        boolean readCachedWhole(ChunkInfo c, byte[] dst) throws IOException {
            if (!cache.storesCompressed()) {
                return cache.get(cacheChunk(c), 0, ByteBuffer.wrap(dst, 0, c.uncompressedSize()));
            }
            byte[] stored = scratch(c.compressedSize());
            if (!cache.get(cacheChunk(c), 0, ByteBuffer.wrap(stored, 0, c.compressedSize()))) {
                return false;
            }
            // verified before it was stored; decoding checks the CRC-32C again when recorded
            ChunkDecoder.decode(info, c, stored, 0, null, dst);
            return true;
        }

        byte[] cachedPlain(ChunkInfo c) throws IOException {
            byte[] plain = new byte[c.uncompressedSize()];
            return readCachedWhole(c, plain) ? plain : null;
        }

        BlobBackend backend() throws IOException {
            BlobBackend b = backend;
            if (b == null) {
                synchronized (this) {
                    b = backend;
                    if (b == null) {
                        b = opener.open(blobId, backendContext);
                        backend = b;
                    }
                }
            }
            return b;
        }

        @Override
        public void close() throws IOException {
            try (BlobBackend b = backend; BlobCache c = cache) {
                // closes both
            }
        }
    }
}
