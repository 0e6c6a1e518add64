package dev.nydus4j.rafs.export;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The nydus dm-verity layout (spec 8.3) against a straightforward reference computation. */
class VerityTreeTest {

    /** Reference: hash blocks level by level, pad with sha256(zero block), store top-most first. */
    private static byte[][] reference(byte[] data) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] zero = md.digest(new byte[4096]);
        int blocks = data.length / 4096;
        if (blocks == 1) {
            return new byte[][] {new byte[0], md.digest(data)};
        }
        List<byte[]> levels = new ArrayList<>();
        byte[] cur = data;
        do {
            int n = cur.length / 4096;
            ByteArrayOutputStream level = new ByteArrayOutputStream();
            for (int i = 0; i < n; i++) {
                level.write(md.digest(Arrays.copyOfRange(cur, i * 4096, (i + 1) * 4096)));
            }
            while (level.size() % 4096 != 0) {
                level.write(zero);
            }
            cur = level.toByteArray();
            levels.add(0, cur);
        } while (cur.length > 4096);
        ByteArrayOutputStream tree = new ByteArrayOutputStream();
        for (byte[] l : levels) {
            tree.write(l);
        }
        return new byte[][] {tree.toByteArray(), md.digest(levels.get(0))};
    }

    @Test
    void matchesReferenceForOneTwoAndThreeLevels(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("VerityTreeTest seed=" + seed);
        Random rnd = new Random(seed);
        for (int blocks : new int[] {1, 3, 128, 129, 128 * 128 + 1}) {
            byte[] data = new byte[blocks * 4096];
            for (int i = 0; i < data.length; i += 997) {
                data[i] = (byte) rnd.nextInt();
            }
            Path f = dir.resolve("img" + blocks);
            Files.write(f, data);
            byte[][] ref = reference(data);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                VerityTree t = VerityTree.build(ch, data.length);
                long end = t.writeTo(ch, data.length);
                assertThat(end).as("end for %d blocks", blocks).isEqualTo(data.length + ref[0].length);
                assertThat(t.rootHash()).as("root for %d blocks", blocks).isEqualTo(ref[1]);
            }
            byte[] all = Files.readAllBytes(f);
            assertThat(Arrays.copyOfRange(all, data.length, all.length)).as("tree for %d blocks", blocks)
                    .isEqualTo(ref[0]);
        }
    }
}
