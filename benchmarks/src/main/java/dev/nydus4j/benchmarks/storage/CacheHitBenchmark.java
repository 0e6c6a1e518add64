package dev.nydus4j.benchmarks.storage;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.benchmarks.codec.CodecBenchmarkBase;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.cache.CacheRegistry;
import dev.nydus4j.storage.device.BlobDevice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Cache-hit chunk read pipeline of {@link BlobDevice} (cache lookup + read from the blobcache file + decompress in
 * compressed mode + copy into the caller's buffer) against the raw codec alone on the same 1 MiB chunks
 * ({@code rawDecompress}: zstd/lz4 decompression from a byte[] into the caller's buffer, nothing else). One
 * operation = one 1 MiB chunk, so MB/s = ops/s x 1.048576. The cache file stays in the page cache.
 *
 * <p>{@code cacheMode=compressed} is the like-for-like comparison (goal: pipeline >= 0.9x raw codec);
 * {@code cacheMode=plain} (the default blobcache mode) shows what a hit costs without decompression.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CacheHitBenchmark {
    private static final int CHUNKS = 16;
    private static final int SIZE = CodecBenchmarkBase.CHUNK_SIZE;

    @Param({"zstd", "lz4_block"})
    public String codec;

    @Param({"compressed", "plain"})
    public String cacheMode;

    private Path dir;
    private BlobDevice device;
    private BlobInfo blob;
    private final List<ChunkInfo> chunks = new ArrayList<>();
    private final List<byte[]> stored = new ArrayList<>();
    private CompressionAlgorithm algo;
    private final byte[] dst = new byte[SIZE];
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        algo = CompressionAlgorithm.valueOf(codec.toUpperCase());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<byte[]> digests = new ArrayList<>();
        for (int i = 0; i < CHUNKS; i++) {
            byte[] p = CodecBenchmarkBase.semiCompressible(SIZE, 1000 + i);
            byte[] c = algo.compress(p, 0, p.length);
            if (c == null) {
                throw new IllegalStateException("benchmark data did not compress");
            }
            chunks.add(new ChunkInfo(i, out.size(), c.length, (long) i * SIZE, SIZE, true, 0));
            stored.add(c);
            digests.add(DigestAlgorithm.BLAKE3.digest(p, 0, p.length));
            out.writeBytes(c);
        }
        byte[] bytes = out.toByteArray();
        String id = "a".repeat(64);
        blob = new BlobInfo(id, 0, SIZE, CHUNKS, algo.id(), DigestAlgorithm.BLAKE3.id(), BlobInfo.FEATURE_ALIGNED,
                bytes.length, (long) CHUNKS * SIZE, 0, 0, 0, 0, 0, new byte[32], new byte[32], 0);
        dir = Files.createTempDirectory("nydus4j-cachehit");
        device = BlobDevice.builder().backend(blobId -> new MemoryBackend(blobId, bytes))
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", cacheMode.equals("compressed"), true,
                        PrefetchConfig.DISABLED, dir.toString()))
                .build();
        device.addChunks(blob, chunks, digests);
        for (int i = 0; i < CHUNKS; i++) { // fill the cache: every measured read is a hit
            device.readChunk(blob, chunks.get(i), digests.get(i), dst);
        }
        if (!device.allCached() || device.backendReadCount() == 0) {
            throw new IllegalStateException("cache not filled");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        long misses = device.cacheMisses();
        device.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        if (misses != CHUNKS) {
            throw new IllegalStateException("measured reads missed the cache: " + misses);
        }
    }

    /** BlobDevice.readChunk of a cached chunk into the caller's 1 MiB buffer. */
    @Benchmark
    public byte[] deviceCacheHit() throws IOException {
        int i = next++ & (CHUNKS - 1);
        device.readChunk(blob, chunks.get(i), null, dst);
        return dst;
    }

    /** The codec alone: decompress the same stored chunk from memory into the caller's buffer. */
    @Benchmark
    public byte[] rawDecompress() throws IOException {
        int i = next++ & (CHUNKS - 1);
        byte[] c = stored.get(i);
        algo.decompress(c, 0, c.length, dst, 0, SIZE, "bench");
        return dst;
    }

    /** In-memory backend (only used to fill the cache). */
    private record MemoryBackend(String blobId, byte[] bytes) implements BlobBackend {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public int read(ByteBuffer b, long position) {
            if (position >= bytes.length) {
                return -1;
            }
            int n = (int) Math.min(b.remaining(), bytes.length - position);
            b.put(bytes, (int) position, n);
            return n;
        }

        @Override
        public void close() {
        }
    }
}
