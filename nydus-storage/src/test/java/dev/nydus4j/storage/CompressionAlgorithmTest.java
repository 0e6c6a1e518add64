package dev.nydus4j.storage;

import dev.nydus4j.api.CorruptImageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompressionAlgorithmTest {

    static byte[] compressible(int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) ("nydus rafs chunk ".charAt(i % 17));
        }
        return b;
    }

    @ParameterizedTest
    @EnumSource(value = CompressionAlgorithm.class, names = {"LZ4_BLOCK", "ZSTD"})
    void roundTripAndStrictlySmallerRule(CompressionAlgorithm algo) throws Exception {
        byte[] plain = compressible(100_000);
        byte[] packed = algo.compress(plain, 0, plain.length);
        assertThat(packed).isNotNull();
        assertThat(packed.length).isLessThan(plain.length);
        byte[] out = new byte[plain.length + 10];
        algo.decompress(packed, 0, packed.length, out, 5, plain.length, "r");
        assertThat(Arrays.copyOfRange(out, 5, 5 + plain.length)).isEqualTo(plain);

        byte[] dst = new byte[algo.maxCompressedLength(plain.length) + 3];
        int n = algo.compress(plain, 0, plain.length, dst, 3);
        assertThat(Arrays.copyOfRange(dst, 3, 3 + n)).isEqualTo(packed);

        byte[] random = new byte[4096];
        new Random(1).nextBytes(random);
        assertThat(algo.compress(random, 0, random.length)).as("incompressible -> raw").isNull();
        assertThat(algo.compress(random, 0, 0)).as("empty never compressed").isNull();
        assertThat(algo.compress(new byte[] {1}, 0, 1)).isNull();
    }

    @ParameterizedTest
    @EnumSource(value = CompressionAlgorithm.class, names = {"LZ4_BLOCK", "ZSTD", "GZIP", "NONE"})
    void malformedInputIsCorruption(CompressionAlgorithm algo) throws Exception {
        byte[] plain = compressible(10_000);
        byte[] packed = algo == CompressionAlgorithm.GZIP ? gzip(plain)
                : algo == CompressionAlgorithm.NONE ? plain : algo.compress(plain, 0, plain.length);
        byte[] out = new byte[20_000];
        assertThatThrownBy(() -> algo.decompress(packed, 0, packed.length, out, 0, plain.length - 1, "res-a"))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("res-a");
        if (algo != CompressionAlgorithm.NONE) {
            assertThatThrownBy(() -> algo.decompress(packed, 0, packed.length, out, 0, plain.length + 1, "res-b"))
                    .isInstanceOf(CorruptImageException.class);
            byte[] garbage = new byte[100];
            new Random(2).nextBytes(garbage);
            assertThatThrownBy(() -> algo.decompress(garbage, 0, garbage.length, out, 0, 5000, "res-c"))
                    .isInstanceOf(CorruptImageException.class);
            byte[] truncated = Arrays.copyOf(packed, packed.length / 2);
            assertThatThrownBy(() -> algo.decompress(truncated, 0, truncated.length, out, 0, plain.length, "res-d"))
                    .isInstanceOf(CorruptImageException.class);
        }
    }

    @Test
    void gzipDecodesButIsNotWritten() throws Exception {
        byte[] plain = compressible(5000);
        byte[] gz = gzip(plain);
        byte[] out = new byte[5000];
        CompressionAlgorithm.GZIP.decompress(gz, 0, gz.length, out, 0, 5000, "r");
        assertThat(out).isEqualTo(plain);
        assertThatThrownBy(() -> CompressionAlgorithm.GZIP.compress(plain, 0, plain.length))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void zstdContextsArePerThread() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<?>[] fs = new Future<?>[8];
            for (int t = 0; t < fs.length; t++) {
                int seed = t;
                fs[t] = pool.submit(() -> {
                    Random rnd = new Random(seed);
                    for (int i = 0; i < 200; i++) {
                        byte[] plain = compressible(1000 + rnd.nextInt(50_000));
                        plain[rnd.nextInt(plain.length)] = (byte) rnd.nextInt();
                        byte[] packed = CompressionAlgorithm.ZSTD.compress(plain, 0, plain.length);
                        byte[] out = new byte[plain.length];
                        CompressionAlgorithm.ZSTD.decompress(packed, 0, packed.length, out, 0, out.length, "r");
                        assertThat(out).isEqualTo(plain);
                    }
                    return null;
                });
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void namesAndIds() {
        assertThat(CompressionAlgorithm.fromName("lz4")).isEqualTo(CompressionAlgorithm.LZ4_BLOCK);
        assertThat(CompressionAlgorithm.fromId(3)).isEqualTo(CompressionAlgorithm.ZSTD);
        assertThatThrownBy(() -> CompressionAlgorithm.fromId(4)).isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] gzip(byte[] plain) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(plain);
        }
        return bos.toByteArray();
    }
}
