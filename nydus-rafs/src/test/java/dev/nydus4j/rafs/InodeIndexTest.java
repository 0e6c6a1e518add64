package dev.nydus4j.rafs;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class InodeIndexTest {

    /** Reference packing: all names, "." and ".." included, sorted by bytes, 12-byte dirent + name each. */
    private static long referenceSize(List<byte[]> names) {
        List<byte[]> all = new ArrayList<>(names);
        all.add(new byte[]{'.'});
        all.add(new byte[]{'.', '.'});
        all.sort(Arrays::compareUnsigned);
        long full = 0;
        int used = 0;
        for (byte[] n : all) {
            if (used + 12 + n.length > 4096) {
                full++;
                used = 0;
            }
            used += 12 + n.length;
        }
        return full * 4096 + used;
    }

    @Test
    void packedDirSizeMergesDotEntriesInByteOrder() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        // names around '.' (0x2d '-', 0x2e '.', 0x2f excluded) so "." and ".." land at the start, middle or end
        byte[] alphabet = {'!', '-', '.', '0', 'a', (byte) 0xc3, (byte) 0xff};
        for (int round = 0; round < 300; round++) {
            TreeSet<byte[]> set = new TreeSet<>(Arrays::compareUnsigned);
            int count = rnd.nextInt(round < 100 ? 5 : 400);
            while (set.size() < count) {
                byte[] n = new byte[1 + rnd.nextInt(round % 3 == 0 ? 255 : 8)];
                for (int i = 0; i < n.length; i++) {
                    n[i] = alphabet[rnd.nextInt(alphabet.length)];
                }
                if (!Arrays.equals(n, new byte[]{'.'}) && !Arrays.equals(n, new byte[]{'.', '.'})) {
                    set.add(n);
                }
            }
            List<byte[]> names = new ArrayList<>(set);
            assertThat(InodeIndex.packedDirSize(names.toArray(new byte[0][])))
                    .as("seed %d round %d", seed, round)
                    .isEqualTo(referenceSize(names));
        }
    }

    @Test
    void packedDirSizeOfAnEmptyDirectoryIsDotAndDotDot() {
        assertThat(InodeIndex.packedDirSize(new byte[0][])).isEqualTo(2 * 12 + 3);
    }
}
