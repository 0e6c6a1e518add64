package dev.nydus4j.rafs.builder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class FileHolesTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** A file of {@code size} bytes with random data at {@code dataAt} (MiB offsets, 100 KiB each), holes elsewhere. */
    private static byte[] writeSparse(Path f, long size, long... dataAt) throws IOException {
        byte[] content = new byte[(int) size];
        Random r = new Random(11);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
            for (long at : dataAt) {
                byte[] d = new byte[100 << 10];
                r.nextBytes(d);
                raf.seek(at * MIB);
                raf.write(d);
                System.arraycopy(d, 0, content, (int) (at * MIB), d.length);
            }
        }
        return content;
    }

    @Test
    void findsTheHolesOfASparseFile() throws IOException {
        Path f = tmp.resolve("sparse");
        writeSparse(f, 12L * MIB, 3, 9);
        FileHoles h = FileHoles.of(f, 12L * MIB);
        assumeTrue(h != null, "the temp file system reports no holes (no SEEK_DATA)");
        assertThat(h.isHole(0, MIB)).isTrue();
        assertThat(h.isHole(2L * MIB, MIB)).isTrue();
        assertThat(h.isHole(3L * MIB, MIB)).isFalse();
        assertThat(h.isHole(2L * MIB, 2 * MIB)).isFalse(); // ends inside the data
        assertThat(h.isHole(5L * MIB, 4 * MIB)).isTrue();
        assertThat(h.isHole(9L * MIB + 4096, 4096)).isFalse();
        assertThat(h.isHole(11L * MIB, MIB)).isTrue(); // a hole up to the end
    }

    @Test
    void aDenseFileHasNoHoles() throws IOException {
        Path f = tmp.resolve("dense");
        byte[] d = new byte[5 * MIB];
        new Random(3).nextBytes(d);
        Files.write(f, d);
        assertThat(FileHoles.of(f, d.length)).isNull();
        assertThat(FileHoles.of(tmp.resolve("absent"), 10)).isNull();
    }

    /** Skipping the holes changes no byte of the image: a sparse tree builds exactly as the same bytes written out. */
    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void aSparseFileBuildsAsItsDenseCopy(int hashThreads) throws Exception {
        long size = 20L * MIB + 12345; // a partial last chunk in a hole
        Path sparse = Files.createDirectories(tmp.resolve("sparse-src"));
        byte[] content = writeSparse(sparse.resolve("f"), size, 0, 7, 8, 15);
        assumeTrue(FileHoles.of(sparse.resolve("f"), size) != null, "no holes on the temp file system");
        Path dense = Files.createDirectories(tmp.resolve("dense-src"));
        Files.write(dense.resolve("f"), content);
        FileTime t = FileTime.fromMillis(1_600_000_000_000L);
        for (Path p : new Path[] {sparse.resolve("f"), dense.resolve("f"), sparse, dense}) {
            Files.setLastModifiedTime(p, t);
        }
        BuildOptions o = BuildOptions.defaults();
        BuildResult a = new ImageBuilder(o).hashThreads(hashThreads).build(sparse, tmp.resolve("a.boot"),
                tmp.resolve("a.blob"), null);
        BuildResult b = new ImageBuilder(o).hashThreads(hashThreads).build(dense, tmp.resolve("b.boot"),
                tmp.resolve("b.blob"), null);
        assertThat(a.newBlobId()).isEqualTo(b.newBlobId());
        assertThat(Files.mismatch(tmp.resolve("a.blob"), tmp.resolve("b.blob"))).isEqualTo(-1L);
        assertThat(Files.mismatch(tmp.resolve("a.boot"), tmp.resolve("b.boot"))).isEqualTo(-1L);
        // the zero chunk is stored once, with the data chunks
        assertThat(Files.size(tmp.resolve("a.blob"))).isLessThan(2L * MIB);
        assertThat(Arrays.equals(Files.readAllBytes(sparse.resolve("f")), content)).isTrue();
    }
}
