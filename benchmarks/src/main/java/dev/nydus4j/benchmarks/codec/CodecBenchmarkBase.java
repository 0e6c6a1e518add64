package dev.nydus4j.benchmarks.codec;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Shared JMH settings for the codec benchmarks: throughput in operations per second on one 1 MiB chunk per
 * operation (so MB/s = ops/s × 1.048576), one fork, short warmup. Command-line options ({@code -f -wi -i})
 * override these.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public abstract class CodecBenchmarkBase {
    public static final int CHUNK_SIZE = 1 << 20;

    /**
     * 1 MiB of "semi-compressible" data (zstd -3 reaches about 1.6:1): text-like runs of words mixed with
     * random bytes, fixed seed so every run and every tool sees the same input.
     */
    public static byte[] semiCompressible(int size, long seed) {
        Random rnd = new Random(seed);
        String[] words = {"nydus ", "rafs ", "chunk ", "blob ", "erofs ", "image ", "layer ", "digest ", "\n",
            "0123456789 ", "container ", "bootstrap "};
        byte[] b = new byte[size];
        int i = 0;
        while (i < size) {
            if (rnd.nextInt(4) == 0) {
                int n = Math.min(size - i, 8 + rnd.nextInt(24));
                for (int k = 0; k < n; k++) {
                    b[i + k] = (byte) rnd.nextInt(256);
                }
                i += n;
            } else {
                byte[] w = words[rnd.nextInt(words.length)].getBytes();
                int n = Math.min(w.length, size - i);
                System.arraycopy(w, 0, b, i, n);
                i += n;
            }
        }
        return b;
    }
}
