package dev.nydus4j.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveTask;

/**
 * BLAKE3 with 32-byte output (unkeyed hash mode), pure Java, incremental.
 *
 * <p>Input is split into 1024-byte chunks of sixteen 64-byte blocks; each chunk is compressed into a chaining
 * value (CV) with the chunk index as counter, and CVs are merged pairwise into a binary tree of parent nodes.
 * The last chunk, and the root node, are only finalized in {@link #finish()} because the ROOT flag must be set
 * on the final compression: so the hasher always keeps at least one byte of input buffered or pending.
 *
 * <p>Performance notes (why the code looks like this): the compression function is fully unrolled over
 * local {@code int} variables (generated; one {@code G} call is four lines), message words are read
 * little-endian straight from the caller's array through a {@link VarHandle}, full blocks of the caller's
 * input are never copied, and nothing is allocated per block. Runs of whole chunks are hashed
 * {@value Blake3Lanes#LANES} at a time by {@link Blake3Lanes} (auto-vectorised). The CV stack holds CVs
 * contiguously so that a parent node's 64-byte message is simply two adjacent stack entries.
 *
 * <p>Not thread-safe; one instance hashes one message.
 */
final class Blake3 implements DigestAlgorithm.Hasher {

    static final int OUT_LEN = 32;
    static final int BLOCK_LEN = 64;
    static final int CHUNK_LEN = 1024;

    private static final int CHUNK_START = 1;
    private static final int CHUNK_END = 2;
    private static final int PARENT = 4;
    private static final int ROOT = 8;

    /** 2^54 chunks of 1 KiB exceed any long length; one extra slot holds the CV being merged. */
    private static final int MAX_DEPTH = 55;

    private static final int[] IV = {
        0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
    };

    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final int[] cvStack = new int[MAX_DEPTH * 8];
    private int stackLen;

    /** CV of the chunk being hashed. */
    private final int[] cv = IV.clone();
    private long chunkCounter;
    private int blocksCompressed;

    /** Pending block of the current chunk; compressed only once more input proves it is not the last. */
    private final byte[] block = new byte[BLOCK_LEN];
    /** Message words of the block being compressed (scratch of {@link #compressBytes}). */
    private final int[] msg = new int[16];
    private int blockLen;
    private boolean finished;

    /** Allocated on the first input of more than {@link Blake3Lanes#LANE_BYTES} bytes. */
    private Blake3Lanes lanes;
    private int[] laneCvs;

    Blake3() {
    }

    static DigestAlgorithm.Hasher newHasher() {
        return new Blake3();
    }

    /**
     * The lane hasher and its output of the one-shot digests run on each thread ({@link Blake3Lanes#hashChunks}
     * re-initialises all its state): a builder digests thousands of chunks, and allocating ~20 KB for each made the
     * garbage that started a young collection (which copies the build's live chunk buffers) in a 757 MB conversion.
     */
    private static final ThreadLocal<LaneScratch> ONE_SHOT_LANES = ThreadLocal.withInitial(LaneScratch::new);

    private static final class LaneScratch {
        final Blake3Lanes lanes = new Blake3Lanes();
        final int[] cvs = new int[Blake3Lanes.LANES * 8];
    }

    /** One-shot 32-byte digest. */
    static byte[] digest(byte[] data, int off, int len) {
        Blake3 h = new Blake3();
        if (len >= Blake3Lanes.LANE_BYTES) {
            LaneScratch scratch = ONE_SHOT_LANES.get();
            h.lanes = scratch.lanes;
            h.laneCvs = scratch.cvs;
        }
        if (len > 0 && len % Blake3Lanes.LANE_BYTES == 0) {
            java.util.Objects.checkFromIndexSize(off, len, data.length);
            return h.digestWholeLanes(data, off, len);
        }
        return h.update(data, off, len).finish();
    }

    /**
     * One-shot digest of a whole number of {@link Blake3Lanes#LANE_BYTES} groups (so at least
     * {@value Blake3Lanes#LANES} full chunks), every chunk hashed by the lanes: unlike {@link #update}, which must
     * keep the last chunk back because it cannot know it is the last, the final chunk's CV here simply stays out of
     * the stack merges, so that the top parent gets the ROOT flag. Builder chunks (1 MiB by default) take this path.
     */
    private byte[] digestWholeLanes(byte[] b, int off, int len) {
        if (lanes == null) {
            lanes = new Blake3Lanes();
            laneCvs = new int[Blake3Lanes.LANES * 8];
        }
        int groups = len / Blake3Lanes.LANE_BYTES;
        for (int g = 0; g < groups; g++) {
            lanes.hashChunks(b, off + g * Blake3Lanes.LANE_BYTES, chunkCounter, laneCvs);
            int n = g == groups - 1 ? Blake3Lanes.LANES - 1 : Blake3Lanes.LANES;
            for (int k = 0; k < n; k++) {
                addChunkCv(laneCvs, k * 8, ++chunkCounter);
            }
        }
        finished = true;
        System.arraycopy(laneCvs, (Blake3Lanes.LANES - 1) * 8, cvStack, stackLen * 8, 8);
        for (int i = stackLen - 1; i >= 0; i--) {
            compressWords(cvStack, i * 8, PARENT | (i == 0 ? ROOT : 0), cvStack, i * 8);
        }
        return toBytes(cvStack, 0);
    }

    @Override
    public Blake3 update(byte[] b, int off, int len) {
        if (finished) {
            throw new IllegalStateException("BLAKE3 hasher already finished");
        }
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            if (blockLen == BLOCK_LEN) {
                compressBlock(block, 0);
                blockLen = 0;
            }
            if (blockLen == 0 && blocksCompressed == 0 && len > Blake3Lanes.LANE_BYTES) {
                // Many whole chunks, keeping at least one byte back for finish(): hash them side by side.
                if (lanes == null) {
                    lanes = new Blake3Lanes();
                    laneCvs = new int[Blake3Lanes.LANES * 8];
                }
                lanes.hashChunks(b, off, chunkCounter, laneCvs);
                for (int k = 0; k < Blake3Lanes.LANES; k++) {
                    addChunkCv(laneCvs, k * 8, ++chunkCounter);
                }
                off += Blake3Lanes.LANE_BYTES;
                len -= Blake3Lanes.LANE_BYTES;
                continue;
            }
            if (blockLen == 0 && len > BLOCK_LEN) {
                // Full blocks straight from the input, keeping at least one byte back for finish(), until a
                // chunk boundary lets the multi-chunk path take over.
                do {
                    compressBlock(b, off);
                    off += BLOCK_LEN;
                    len -= BLOCK_LEN;
                } while (len > BLOCK_LEN && !(blocksCompressed == 0 && len > Blake3Lanes.LANE_BYTES));
                continue;
            }
            int take = Math.min(BLOCK_LEN - blockLen, len);
            System.arraycopy(b, off, block, blockLen, take);
            blockLen += take;
            off += take;
            len -= take;
        }
        return this;
    }

    /** Compresses a full non-final block of the current chunk; closes the chunk after its 16th block. */
    private void compressBlock(byte[] b, int off) {
        int flags = blocksCompressed == 0 ? CHUNK_START : 0;
        if (blocksCompressed == CHUNK_LEN / BLOCK_LEN - 1) {
            compressBytes(cv, b, off, chunkCounter, BLOCK_LEN, flags | CHUNK_END, msg);
            addChunkCv(cv, 0, ++chunkCounter);
            System.arraycopy(IV, 0, cv, 0, 8);
            blocksCompressed = 0;
        } else {
            compressBytes(cv, b, off, chunkCounter, BLOCK_LEN, flags, msg);
            blocksCompressed++;
        }
    }

    /** Pushes {@code src[off, off+8)} as the CV of chunk {@code totalChunks - 1}, merging completed subtrees. */
    private void addChunkCv(int[] src, int off, long totalChunks) {
        System.arraycopy(src, off, cvStack, stackLen * 8, 8);
        while ((totalChunks & 1) == 0) {
            int left = (stackLen - 1) * 8;
            compressWords(cvStack, left, PARENT, cvStack, left);
            stackLen--;
            totalChunks >>>= 1;
        }
        stackLen++;
    }

    @Override
    public byte[] finish() {
        return toBytes(finishWords(true), 0);
    }

    /**
     * Finalizes the tree: the last chunk, then the pending parents up the stack.
     *
     * @param root whether this hasher saw the whole message (ROOT on the top node) or one subtree of a parallel
     *             digest (no ROOT: the caller combines subtree CVs)
     * @return words 0..7 are the output (root hash words or the subtree CV)
     */
    private int[] finishWords(boolean root) {
        if (finished) {
            throw new IllegalStateException("BLAKE3 hasher already finished");
        }
        finished = true;
        Arrays.fill(block, blockLen, BLOCK_LEN, (byte) 0);
        int flags = (blocksCompressed == 0 ? CHUNK_START : 0) | CHUNK_END;
        int rootFlag = root ? ROOT : 0;
        if (stackLen == 0) {
            // A root output block uses counter 0; a lone chunk inside a larger tree keeps its chunk counter.
            compressBytes(cv, block, 0, root ? 0 : chunkCounter, blockLen, flags | rootFlag, msg);
            return cv;
        }
        compressBytes(cv, block, 0, chunkCounter, blockLen, flags, msg);
        System.arraycopy(cv, 0, cvStack, stackLen * 8, 8);
        for (int i = stackLen - 1; i >= 0; i--) {
            compressWords(cvStack, i * 8, PARENT | (i == 0 ? rootFlag : 0), cvStack, i * 8);
        }
        return cvStack;
    }

    /** Below this many bytes a subtree is hashed on the current thread. */
    static final int PARALLEL_GRAIN = 512 * 1024;

    /**
     * 32-byte digest of {@code data[off, off+len)} computed with the subtrees of the BLAKE3 tree hashed in
     * parallel on {@code pool} (same result as {@link #digest}). Worth it for inputs of several MiB.
     */
    static byte[] digestParallel(byte[] data, int off, int len, ForkJoinPool pool) {
        java.util.Objects.checkFromIndexSize(off, len, data.length);
        if (len <= PARALLEL_GRAIN) {
            return digest(data, off, len);
        }
        int[] words = pool.invoke(new Subtree(data, off, len, 0, true));
        return toBytes(words, 0);
    }

    /**
     * CV of the subtree covering {@code len} bytes from chunk {@code firstChunk}: BLAKE3 splits a range into a
     * left part of the largest power-of-two number of chunks that leaves at least one byte for the right part.
     */
    private static final class Subtree extends RecursiveTask<int[]> {
        private final byte[] data;
        private final int off;
        private final int len;
        private final long firstChunk;
        private final boolean root;

        Subtree(byte[] data, int off, int len, long firstChunk, boolean root) {
            this.data = data;
            this.off = off;
            this.len = len;
            this.firstChunk = firstChunk;
            this.root = root;
        }

        @Override
        protected int[] compute() {
            if (len <= PARALLEL_GRAIN) {
                // firstChunk is a multiple of the enclosing power-of-two subtree, so the sequential hasher's
                // stack merges build exactly this subtree.
                Blake3 h = new Blake3();
                h.chunkCounter = firstChunk;
                h.update(data, off, len);
                return h.finishWords(root).clone();
            }
            long chunks = (len + (long) CHUNK_LEN - 1) / CHUNK_LEN;
            int leftChunks = (int) Long.highestOneBit(chunks - 1);
            int leftLen = leftChunks * CHUNK_LEN;
            Subtree left = new Subtree(data, off, leftLen, firstChunk, false);
            Subtree right = new Subtree(data, off + leftLen, len - leftLen, firstChunk + leftChunks, false);
            left.fork();
            int[] r = right.compute();
            int[] l = left.join();
            int[] m = new int[16];
            System.arraycopy(l, 0, m, 0, 8);
            System.arraycopy(r, 0, m, 8, 8);
            compressWords(m, 0, PARENT | (root ? ROOT : 0), m, 0);
            return Arrays.copyOf(m, 8);
        }
    }
    /**
     * Little-endian bytes of 8 words. Plain byte stores on purpose: a VarHandle int store into this freshly
     * allocated array is miscompiled by C2 on JDK 17.0.15 (after warm-up the stores vanish and the digest reads as
     * 32 zero bytes; reproduced by {@code Blake3JitRegressionTest}).
     */
    private static byte[] toBytes(int[] words, int off) {
        byte[] out = new byte[OUT_LEN];
        for (int i = 0; i < 8; i++) {
            int w = words[off + i];
            out[i * 4] = (byte) w;
            out[i * 4 + 1] = (byte) (w >>> 8);
            out[i * 4 + 2] = (byte) (w >>> 16);
            out[i * 4 + 3] = (byte) (w >>> 24);
        }
        return out;
    }

    /**
     * Compression of one message block read from {@code b[off, off+64)}; updates the CV {@code h} in place.
     * {@code msg} is a 16-word scratch array. The words go through {@link #compress}, the one scalar compression
     * function, so that a fresh JVM compiles one large method instead of two (C1 and C2 time at every start).
     */
    static void compressBytes(int[] h, byte[] b, int off, long counter, int blockLen, int flags, int[] msg) {
        for (int w = 0; w < 16; w++) {
            msg[w] = (int) LE_INT.get(b, off + 4 * w);
        }
        compress(h, msg, 0, counter, blockLen, flags, h, 0);
    }

    /** Parent-node compression (key = IV, counter 0, 64-byte block) of {@code m[mOff, mOff+16)}. */
    static void compressWords(int[] m, int mOff, int flags, int[] out, int outOff) {
        compress(IV, m, mOff, 0, BLOCK_LEN, flags, out, outOff);
    }

    /**
     * The compression function: CV {@code h[0, 8)}, message {@code m[mOff, mOff+16)}; the new CV goes to
     * {@code out[outOff, outOff+8)} (may be {@code h} or {@code m}: all inputs are read first).
     */
    private static void compress(int[] h, int[] m, int mOff, long counter, int blockLen, int flags, int[] out,
                                 int outOff) {
        int m0 = m[mOff + 0];
        int m1 = m[mOff + 1];
        int m2 = m[mOff + 2];
        int m3 = m[mOff + 3];
        int m4 = m[mOff + 4];
        int m5 = m[mOff + 5];
        int m6 = m[mOff + 6];
        int m7 = m[mOff + 7];
        int m8 = m[mOff + 8];
        int m9 = m[mOff + 9];
        int m10 = m[mOff + 10];
        int m11 = m[mOff + 11];
        int m12 = m[mOff + 12];
        int m13 = m[mOff + 13];
        int m14 = m[mOff + 14];
        int m15 = m[mOff + 15];
        int s0 = h[0];
        int s1 = h[1];
        int s2 = h[2];
        int s3 = h[3];
        int s4 = h[4];
        int s5 = h[5];
        int s6 = h[6];
        int s7 = h[7];
        int s8 = 0x6A09E667;
        int s9 = 0xBB67AE85;
        int s10 = 0x3C6EF372;
        int s11 = 0xA54FF53A;
        int s12 = (int) counter;
        int s13 = (int) (counter >>> 32);
        int s14 = blockLen;
        int s15 = flags;
        // round 1
        s0 += s4 + m0; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m1; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m2; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m3; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m4; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m5; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m6; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m7; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m8; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m9; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m10; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m11; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m12; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m13; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m14; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m15; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 2
        s0 += s4 + m2; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m6; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m3; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m10; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m7; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m0; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m4; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m13; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m1; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m11; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m12; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m5; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m9; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m14; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m15; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m8; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 3
        s0 += s4 + m3; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m4; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m10; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m12; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m13; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m2; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m7; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m14; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m6; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m5; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m9; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m0; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m11; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m15; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m8; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m1; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 4
        s0 += s4 + m10; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m7; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m12; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m9; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m14; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m3; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m13; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m15; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m4; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m0; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m11; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m2; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m5; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m8; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m1; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m6; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 5
        s0 += s4 + m12; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m13; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m9; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m11; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m15; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m10; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m14; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m8; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m7; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m2; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m5; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m3; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m0; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m1; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m6; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m4; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 6
        s0 += s4 + m9; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m14; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m11; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m5; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m8; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m12; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m15; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m1; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m13; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m3; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m0; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m10; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m2; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m6; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m4; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m7; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        // round 7
        s0 += s4 + m11; s12 = Integer.rotateRight(s12 ^ s0, 16);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 12);
        s0 += s4 + m15; s12 = Integer.rotateRight(s12 ^ s0, 8);
        s8 += s12; s4 = Integer.rotateRight(s4 ^ s8, 7);
        s1 += s5 + m5; s13 = Integer.rotateRight(s13 ^ s1, 16);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 12);
        s1 += s5 + m0; s13 = Integer.rotateRight(s13 ^ s1, 8);
        s9 += s13; s5 = Integer.rotateRight(s5 ^ s9, 7);
        s2 += s6 + m1; s14 = Integer.rotateRight(s14 ^ s2, 16);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 12);
        s2 += s6 + m9; s14 = Integer.rotateRight(s14 ^ s2, 8);
        s10 += s14; s6 = Integer.rotateRight(s6 ^ s10, 7);
        s3 += s7 + m8; s15 = Integer.rotateRight(s15 ^ s3, 16);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 12);
        s3 += s7 + m6; s15 = Integer.rotateRight(s15 ^ s3, 8);
        s11 += s15; s7 = Integer.rotateRight(s7 ^ s11, 7);
        s0 += s5 + m14; s15 = Integer.rotateRight(s15 ^ s0, 16);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 12);
        s0 += s5 + m10; s15 = Integer.rotateRight(s15 ^ s0, 8);
        s10 += s15; s5 = Integer.rotateRight(s5 ^ s10, 7);
        s1 += s6 + m2; s12 = Integer.rotateRight(s12 ^ s1, 16);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 12);
        s1 += s6 + m12; s12 = Integer.rotateRight(s12 ^ s1, 8);
        s11 += s12; s6 = Integer.rotateRight(s6 ^ s11, 7);
        s2 += s7 + m3; s13 = Integer.rotateRight(s13 ^ s2, 16);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 12);
        s2 += s7 + m4; s13 = Integer.rotateRight(s13 ^ s2, 8);
        s8 += s13; s7 = Integer.rotateRight(s7 ^ s8, 7);
        s3 += s4 + m7; s14 = Integer.rotateRight(s14 ^ s3, 16);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 12);
        s3 += s4 + m13; s14 = Integer.rotateRight(s14 ^ s3, 8);
        s9 += s14; s4 = Integer.rotateRight(s4 ^ s9, 7);
        out[outOff + 0] = s0 ^ s8;
        out[outOff + 1] = s1 ^ s9;
        out[outOff + 2] = s2 ^ s10;
        out[outOff + 3] = s3 ^ s11;
        out[outOff + 4] = s4 ^ s12;
        out[outOff + 5] = s5 ^ s13;
        out[outOff + 6] = s6 ^ s14;
        out[outOff + 7] = s7 ^ s15;
    }
}
