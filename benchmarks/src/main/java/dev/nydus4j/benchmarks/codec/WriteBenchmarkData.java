package dev.nydus4j.benchmarks.codec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the codec benchmark input for the native comparison tools ({@code zstd -b3}, {@code lz4 -b1},
 * {@code sha256sum}, {@code b3sum}): {@code chunk.bin}, the exact 1 MiB chunk the JMH benchmarks use, and
 * {@code big.bin}, 256 different chunks of the same kind (hash tools are timed on it to dwarf process start-up).
 *
 * <p>Usage: {@code java -cp benchmarks/target/benchmarks.jar dev.nydus4j.benchmarks.codec.WriteBenchmarkData DIR}
 */
public final class WriteBenchmarkData {
    private WriteBenchmarkData() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: WriteBenchmarkData OUTPUT_DIR");
            System.exit(2);
        }
        Path dir = Files.createDirectories(Path.of(args[0]));
        Files.write(dir.resolve("chunk.bin"), CodecBenchmarkBase.semiCompressible(CodecBenchmarkBase.CHUNK_SIZE, 42));
        try (OutputStream out = Files.newOutputStream(dir.resolve("big.bin"))) {
            for (int i = 0; i < 256; i++) {
                out.write(CodecBenchmarkBase.semiCompressible(CodecBenchmarkBase.CHUNK_SIZE, 1000 + i));
            }
        }
    }
}
