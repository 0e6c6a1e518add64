package dev.nydus4j.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Blake3Test {
    private static final HexFormat HEX = HexFormat.of();

    /** The official vector lengths (input byte i = i % 251). */
    private static final int[] VECTOR_LENGTHS = {0, 1, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 5120,
        5121, 6144, 6145, 7168, 7169, 8192, 8193, 16384, 31744, 102400};

    static byte[] vectorInput(int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i % 251);
        }
        return b;
    }

    @Test
    void knownVectors() {
        assertThat(HEX.formatHex(Blake3.digest(new byte[0], 0, 0)))
                .isEqualTo("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assertThat(HEX.formatHex(Blake3.digest(new byte[1], 0, 1)))
                .isEqualTo("2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
        assertThat(HEX.formatHex(ReferenceBlake3.hash(new byte[0])))
                .isEqualTo("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assertThat(HEX.formatHex(DigestAlgorithm.BLAKE3.digest(new byte[0], 0, 0)))
                .isEqualTo("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }

    @Test
    void officialLengthsMatchReferenceAndIncrementalSplits() {
        for (int len : VECTOR_LENGTHS) {
            byte[] in = vectorInput(len);
            byte[] expected = ReferenceBlake3.hash(in);
            assertThat(Blake3.digest(in, 0, len)).as("len %d one-shot", len).isEqualTo(expected);
            for (int step : new int[] {1, 63, 64, 65, 1023, 1024, 1025, 4096}) {
                Blake3 h = new Blake3();
                for (int off = 0; off < len; off += step) {
                    h.update(in, off, Math.min(step, len - off));
                }
                assertThat(h.finish()).as("len %d in steps of %d", len, step).isEqualTo(expected);
            }
        }
    }

    @Test
    void randomLengthsAndOffsetsMatchReference() {
        long seed = System.nanoTime();
        System.out.println("Blake3Test seed " + seed);
        Random rnd = new Random(seed);
        for (int i = 0; i < 200; i++) {
            int len = rnd.nextInt(i < 100 ? 3000 : 70000);
            int pad = rnd.nextInt(9);
            byte[] buf = new byte[len + 2 * pad];
            rnd.nextBytes(buf);
            byte[] plain = java.util.Arrays.copyOfRange(buf, pad, pad + len);
            assertThat(Blake3.digest(buf, pad, len)).as("seed %d len %d", seed, len).isEqualTo(ReferenceBlake3.hash(plain));
        }
    }

    @Test
    void multiChunkPathMatchesReferenceForLargeInputsAndOddSplits() {
        long seed = System.nanoTime();
        System.out.println("Blake3Test multi-chunk seed " + seed);
        Random rnd = new Random(seed);
        int lane = Blake3Lanes.LANE_BYTES;
        for (int len : new int[] {lane, lane + 1, 2 * lane, 32 * lane, 2 * lane + 1024, 3 * lane + 4097, 333_333}) {
            byte[] in = new byte[len];
            rnd.nextBytes(in);
            byte[] expected = ReferenceBlake3.hash(in);
            assertThat(Blake3.digest(in, 0, len)).as("seed %d len %d one-shot", seed, len).isEqualTo(expected);
            for (int split : new int[] {1, 63, 64, 100, 1024, 1025, lane - 1, lane, lane + 1}) {
                if (split >= len) {
                    continue;
                }
                Blake3 h = new Blake3();
                h.update(in, 0, split);
                int mid = split + rnd.nextInt(len - split);
                h.update(in, split, mid - split);
                h.update(in, mid, len - mid);
                assertThat(h.finish()).as("seed %d len %d split %d/%d", seed, len, split, mid).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 1023, 1024, 1025, 2049, 8193, 31744, 102400, 1 << 20, (1 << 20) + 17, 3 << 20})
    void matchesB3sumWhenInstalled(int len) throws Exception {
        Path b3sum = Path.of("/usr/bin/b3sum");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(b3sum), "b3sum not installed");
        byte[] in = vectorInput(len);
        Path f = Files.createTempFile("blake3", ".bin");
        try {
            Files.write(f, in);
            Process p = new ProcessBuilder(b3sum.toString(), "--no-names", f.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(HEX.formatHex(Blake3.digest(in, 0, len))).isEqualTo(out);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void parallelDigestMatchesSequential() {
        long seed = System.nanoTime();
        System.out.println("Blake3Test parallel seed " + seed);
        Random rnd = new Random(seed);
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(3);
        try {
            int grain = Blake3.PARALLEL_GRAIN;
            for (int len : new int[] {0, 1, grain, grain + 1, 2 * grain, 2 * grain + 1, 3 * grain + 777,
                (4 << 20) + 1, 5_000_000}) {
                byte[] in = new byte[len + 10];
                rnd.nextBytes(in);
                byte[] expected = Blake3.digest(in, 5, len);
                assertThat(Blake3.digestParallel(in, 5, len, pool)).as("seed %d len %d", seed, len)
                        .isEqualTo(expected);
                assertThat(DigestAlgorithm.BLAKE3.digestParallel(in, 5, len, pool)).isEqualTo(expected);
                assertThat(DigestAlgorithm.SHA256.digestParallel(in, 5, len, pool))
                        .isEqualTo(DigestAlgorithm.SHA256.digest(in, 5, len));
            }
            byte[] small = vectorInput(3 * grain + 1);
            assertThat(Blake3.digestParallel(small, 0, small.length, pool)).isEqualTo(ReferenceBlake3.hash(small));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void finishTwiceIsRejected() {
        Blake3 h = new Blake3();
        h.finish();
        assertThatThrownBy(h::finish).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> h.update(new byte[1], 0, 1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void boundsAreChecked() {
        assertThatThrownBy(() -> new Blake3().update(new byte[4], 2, 3)).isInstanceOf(IndexOutOfBoundsException.class);
    }

}
