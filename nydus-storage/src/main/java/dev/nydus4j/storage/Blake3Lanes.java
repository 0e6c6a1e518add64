package dev.nydus4j.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Computes the chaining values of {@value #LANES} consecutive full 1 KiB BLAKE3 chunks at once.
 *
 * <p>Why: one chunk's compressions are a strict dependency chain, but different chunks are independent. The
 * state is stored transposed ({@code v0[lane]} … {@code v15[lane]}) and every G step is a short loop over the
 * lanes, which HotSpot C2 auto-vectorises (SSE/AVX2/AVX-512 adds, xors and rotates). Measured about twice the
 * single-chunk throughput with 32 lanes; 16 lanes did not amortise the loop overhead. 64 lanes: a further ~12 %
 * less BLAKE3 CPU in a tar.gz conversion (perf samples in the lane code, 557 vs 636 per 757 MB; 1.68 vs 1.30-1.47
 * GB/s per core for warm 1 MiB digests), 128 lanes no better. (Likely why: each G loop over 32 lanes is only two
 * AVX-512 vectors, too short to amortise the loop's set-up; the generated code was not inspected.)
 *
 * <p>Start-up matters as much as the peak rate: a fresh JVM (every {@code nydus-image create}) runs this code in
 * the interpreter and in C1 until C2 has compiled it. So the work is split into small methods that C2 compiles
 * separately and early ({@link #g} alone, the message transposition {@link #load}, one round {@link #round}, one
 * block {@link #compressBlock}): a single method holding all 56 G loops of a block (the previous form) took C2
 * about 0.7 CPU s to compile on a loaded 2-core machine, during which the hash threads ran profiled C1 code.
 * The message schedule of round r is {@code SCHEDULE[r]} (the permutation {@code [2, 6, 3, 10, 7, 0, 4, 13, 1, 11,
 * 12, 5, 9, 14, 15, 8]} applied r times). Not thread-safe; one instance per hasher.
 */
final class Blake3Lanes {
    static final int LANES = 64;
    /** Input consumed by one {@link #hashChunks} call. */
    static final int LANE_BYTES = LANES * Blake3.CHUNK_LEN;
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int[] IV = {
        0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
    };
    /** Message word order of each of the seven rounds. */
    private static final int[][] SCHEDULE = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
        {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
        {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
        {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
        {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
        {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
    };

    private final int[][] m = new int[16][LANES];
    private final int[][] cv = new int[8][LANES];
    private final int[] v0 = new int[LANES], v1 = new int[LANES], v2 = new int[LANES], v3 = new int[LANES],
        v4 = new int[LANES], v5 = new int[LANES], v6 = new int[LANES], v7 = new int[LANES],
        v8 = new int[LANES], v9 = new int[LANES], v10 = new int[LANES], v11 = new int[LANES],
        v12 = new int[LANES], v13 = new int[LANES], v14 = new int[LANES], v15 = new int[LANES];

    /**
     * Chaining values of the {@value #LANES} full chunks at {@code in[off, off + LANE_BYTES)}, whose chunk counters
     * are {@code counter0, counter0 + 1, …}, into {@code out[lane * 8 + i]}.
     */
    void hashChunks(byte[] in, int off, long counter0, int[] out) {
        java.util.Objects.checkFromIndexSize(off, LANE_BYTES, in.length);
        for (int i = 0; i < 8; i++) {
            java.util.Arrays.fill(cv[i], IV[i]);
        }
        for (int b = 0; b < 16; b++) {
            load(in, off + b * Blake3.BLOCK_LEN);
            // CHUNK_START on the first block, CHUNK_END on the last: every lane is a complete chunk.
            compressBlock(counter0, (b == 0 ? 1 : 0) | (b == 15 ? 2 : 0));
        }
        for (int k = 0; k < LANES; k++) {
            for (int i = 0; i < 8; i++) {
                out[k * 8 + i] = cv[i][k];
            }
        }
    }

    /** Transposes the 64-byte block at {@code in[base + k * 1024]} of every lane k into {@code m[word][k]}. */
    private void load(byte[] in, int base) {
        for (int w = 0; w < 16; w++) {
            int[] mw = m[w];
            int p = base + 4 * w;
            for (int k = 0; k < LANES; k++) {
                mw[k] = (int) LE_INT.get(in, p + k * Blake3.CHUNK_LEN);
            }
        }
    }

    /** One block of every lane: {@code cv = compress(cv, m)} with the given chunk flags. */
    private void compressBlock(long counter0, int flags) {
        System.arraycopy(cv[0], 0, v0, 0, LANES);
        System.arraycopy(cv[1], 0, v1, 0, LANES);
        System.arraycopy(cv[2], 0, v2, 0, LANES);
        System.arraycopy(cv[3], 0, v3, 0, LANES);
        System.arraycopy(cv[4], 0, v4, 0, LANES);
        System.arraycopy(cv[5], 0, v5, 0, LANES);
        System.arraycopy(cv[6], 0, v6, 0, LANES);
        System.arraycopy(cv[7], 0, v7, 0, LANES);
        initLower(counter0, flags);
        for (int r = 0; r < SCHEDULE.length; r++) {
            round(SCHEDULE[r]);
        }
        xorInto(cv[0], v0, v8);
        xorInto(cv[1], v1, v9);
        xorInto(cv[2], v2, v10);
        xorInto(cv[3], v3, v11);
        xorInto(cv[4], v4, v12);
        xorInto(cv[5], v5, v13);
        xorInto(cv[6], v6, v14);
        xorInto(cv[7], v7, v15);
    }

    /**
     * Rows 8..15 of the state: IV words, counters, block length and flags. A method of its own (not a loop in
     * {@link #compressBlock}) so that compressBlock has almost no loop back-edges: with the 32-lane loop inside it,
     * its back-edge count made C2 compile it before {@link #round}, and then inline all seven rounds (56 vectorised
     * G loops, 17 KB of code, ~0.8 s of C2 time on a loaded 2-core machine) instead of calling the compiled round.
     */
    private void initLower(long counter0, int flags) {
        for (int k = 0; k < LANES; k++) {
            v8[k] = IV[0];
            v9[k] = IV[1];
            v10[k] = IV[2];
            v11[k] = IV[3];
            long c = counter0 + k;
            v12[k] = (int) c;
            v13[k] = (int) (c >>> 32);
            v14[k] = 64;
            v15[k] = flags;
        }
    }

    /** One round: the column step, then the diagonal step, with the message words in order {@code s}. */
    private void round(int[] s) {
        int[][] mm = m;
        g(v0, v4, v8, v12, mm[s[0]], mm[s[1]]);
        g(v1, v5, v9, v13, mm[s[2]], mm[s[3]]);
        g(v2, v6, v10, v14, mm[s[4]], mm[s[5]]);
        g(v3, v7, v11, v15, mm[s[6]], mm[s[7]]);
        g(v0, v5, v10, v15, mm[s[8]], mm[s[9]]);
        g(v1, v6, v11, v12, mm[s[10]], mm[s[11]]);
        g(v2, v7, v8, v13, mm[s[12]], mm[s[13]]);
        g(v3, v4, v9, v14, mm[s[14]], mm[s[15]]);
    }

    private static void xorInto(int[] dst, int[] a, int[] b) {
        for (int k = 0; k < LANES; k++) {
            dst[k] = a[k] ^ b[k];
        }
    }

    private static void g(int[] a, int[] b, int[] c, int[] d, int[] mx, int[] my) {
        for (int k = 0; k < LANES; k++) {
            int va = a[k], vb = b[k], vc = c[k], vd = d[k];
            va += vb + mx[k];
            vd = Integer.rotateRight(vd ^ va, 16);
            vc += vd;
            vb = Integer.rotateRight(vb ^ vc, 12);
            va += vb + my[k];
            vd = Integer.rotateRight(vd ^ va, 8);
            vc += vd;
            vb = Integer.rotateRight(vb ^ vc, 7);
            a[k] = va;
            b[k] = vb;
            c[k] = vc;
            d[k] = vd;
        }
    }
}
