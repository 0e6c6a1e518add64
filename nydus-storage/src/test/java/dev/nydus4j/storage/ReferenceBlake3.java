package dev.nydus4j.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Deliberately plain BLAKE3 (hash mode, 32-byte output) written straight from the specification, recursive over
 * the tree: the slow oracle the optimised {@link Blake3} is compared against.
 */
final class ReferenceBlake3 {
    private static final int[] IV = {
        0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
    };
    private static final int[] PERM = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

    private ReferenceBlake3() {
    }

    static byte[] hash(byte[] input) {
        List<int[]> chunkCvs = new ArrayList<>();
        int chunks = Math.max(1, (input.length + 1023) / 1024);
        if (chunks == 1) {
            return bytes(chunkCv(input, 0, input.length, 0, 8));
        }
        return bytes(subtree(input, 0, chunks, true));
    }

    /** CV of chunks [first, first+count); the root flag goes on the top parent. */
    private static int[] subtree(byte[] input, int first, int count, boolean root) {
        if (count == 1) {
            int start = first * 1024;
            return chunkCv(input, start, Math.min(1024, input.length - start), first, 0);
        }
        int left = Integer.highestOneBit(count - 1);
        int[] l = subtree(input, first, left, false);
        int[] r = subtree(input, first + left, count - left, false);
        int[] m = new int[16];
        System.arraycopy(l, 0, m, 0, 8);
        System.arraycopy(r, 0, m, 8, 8);
        return compress(IV, m, 0, 64, 4 | (root ? 8 : 0));
    }

    private static int[] chunkCv(byte[] input, int start, int len, long counter, int extraFlags) {
        int[] cv = IV.clone();
        int blocks = Math.max(1, (len + 63) / 64);
        for (int i = 0; i < blocks; i++) {
            int bl = Math.min(64, len - i * 64);
            int[] m = new int[16];
            for (int j = 0; j < bl; j++) {
                m[j / 4] |= (input[start + i * 64 + j] & 0xff) << (8 * (j % 4));
            }
            int flags = (i == 0 ? 1 : 0) | (i == blocks - 1 ? 2 | extraFlags : 0);
            cv = compress(cv, m, (flags & 8) != 0 ? 0 : counter, bl, flags);
        }
        return cv;
    }

    private static int[] compress(int[] cv, int[] block, long counter, int blockLen, int flags) {
        int[] s = new int[16];
        System.arraycopy(cv, 0, s, 0, 8);
        System.arraycopy(IV, 0, s, 8, 4);
        s[12] = (int) counter;
        s[13] = (int) (counter >>> 32);
        s[14] = blockLen;
        s[15] = flags;
        int[] m = block.clone();
        for (int r = 0; r < 7; r++) {
            g(s, 0, 4, 8, 12, m[0], m[1]);
            g(s, 1, 5, 9, 13, m[2], m[3]);
            g(s, 2, 6, 10, 14, m[4], m[5]);
            g(s, 3, 7, 11, 15, m[6], m[7]);
            g(s, 0, 5, 10, 15, m[8], m[9]);
            g(s, 1, 6, 11, 12, m[10], m[11]);
            g(s, 2, 7, 8, 13, m[12], m[13]);
            g(s, 3, 4, 9, 14, m[14], m[15]);
            int[] p = new int[16];
            for (int i = 0; i < 16; i++) {
                p[i] = m[PERM[i]];
            }
            m = p;
        }
        int[] out = new int[8];
        for (int i = 0; i < 8; i++) {
            out[i] = s[i] ^ s[i + 8];
        }
        return out;
    }

    private static void g(int[] s, int a, int b, int c, int d, int x, int y) {
        s[a] = s[a] + s[b] + x;
        s[d] = Integer.rotateRight(s[d] ^ s[a], 16);
        s[c] = s[c] + s[d];
        s[b] = Integer.rotateRight(s[b] ^ s[c], 12);
        s[a] = s[a] + s[b] + y;
        s[d] = Integer.rotateRight(s[d] ^ s[a], 8);
        s[c] = s[c] + s[d];
        s[b] = Integer.rotateRight(s[b] ^ s[c], 7);
    }

    private static byte[] bytes(int[] w) {
        byte[] out = new byte[32];
        for (int i = 0; i < 32; i++) {
            out[i] = (byte) (w[i / 4] >>> (8 * (i % 4)));
        }
        return out;
    }
}
