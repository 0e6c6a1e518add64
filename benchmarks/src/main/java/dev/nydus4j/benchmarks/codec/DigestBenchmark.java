package dev.nydus4j.benchmarks.codec;

import dev.nydus4j.storage.DigestAlgorithm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/** Chunk digests (single thread) through {@link DigestAlgorithm}. */
public class DigestBenchmark extends CodecBenchmarkBase {

    @Param({"blake3", "sha256"})
    public String algorithm;

    private DigestAlgorithm algo;
    private byte[] plain;

    @Setup
    public void setup() {
        algo = DigestAlgorithm.fromName(algorithm);
        plain = semiCompressible(CHUNK_SIZE, 42);
    }

    @Benchmark
    public byte[] digest() {
        return algo.digest(plain, 0, plain.length);
    }
}
