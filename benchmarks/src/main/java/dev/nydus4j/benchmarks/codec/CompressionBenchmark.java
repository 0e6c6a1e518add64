package dev.nydus4j.benchmarks.codec;

import dev.nydus4j.storage.CompressionAlgorithm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import java.io.IOException;

/** Chunk compression and decompression through {@link CompressionAlgorithm} (what BlobWriter/readers call). */
public class CompressionBenchmark extends CodecBenchmarkBase {

    @Param({"zstd", "lz4_block"})
    public String algorithm;

    private CompressionAlgorithm algo;
    private byte[] plain;
    private byte[] packed;
    private byte[] out;

    @Setup
    public void setup() {
        algo = CompressionAlgorithm.fromName(algorithm);
        plain = semiCompressible(CHUNK_SIZE, 42);
        packed = algo.compress(plain, 0, plain.length);
        if (packed == null) {
            throw new IllegalStateException("benchmark input does not compress with " + algo);
        }
        out = new byte[CHUNK_SIZE];
    }

    @Benchmark
    public byte[] compress() {
        return algo.compress(plain, 0, plain.length);
    }

    @Benchmark
    public byte[] decompress() throws IOException {
        algo.decompress(packed, 0, packed.length, out, 0, CHUNK_SIZE, "bench");
        return out;
    }
}
