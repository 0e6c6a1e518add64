package dev.nydus4j.rafs.unpack;

import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TarUnpackerTest {

    @Test
    void gnuTarExtractsSyntheticImageIdentically(@TempDir Path tmp) throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        SyntheticImage img = SyntheticImage.create(tmp, 42, root);
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            Path out = extract(fs, tmp, root);
            TreeSnapshot expected = TreeSnapshot.of(fs);
            TreeSnapshot actual = TreeSnapshot.of(out);
            List<TreeSnapshot.Field> ignore = new ArrayList<>();
            if (!root) {
                ignore.add(TreeSnapshot.Field.UID);
                ignore.add(TreeSnapshot.Field.GID);
            }
            // extracting into the root directory changes its mtime after tar set it
            assertThat(expected.without("/").diff(actual.without("/"), ignore.toArray(new TreeSnapshot.Field[0])))
                    .isEmpty();
        }
    }

    @Test
    void gnuTarExtractsV5FixtureIdentically(@TempDir Path tmp) throws Exception {
        Path boot = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        try (RafsImage fs = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("repeatable/blobs")))) {
            boolean root = "root".equals(System.getProperty("user.name"));
            Path out = extract(fs, tmp, root);
            List<String> diff = TreeSnapshot.of(fs).without("/").diff(TreeSnapshot.of(out).without("/"),
                    root ? new TreeSnapshot.Field[]{TreeSnapshot.Field.DIR_MTIME}
                            : new TreeSnapshot.Field[]{TreeSnapshot.Field.UID, TreeSnapshot.Field.GID, TreeSnapshot.Field.DIR_MTIME});
            assertThat(diff).isEmpty();
        }
    }

    @Test
    void entriesAreParentFirstWithHardLinksAndPaxRecords(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 7, true);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            TarUnpacker.unpack(fs, bos);
        }
        List<String> names = new ArrayList<>();
        int links = 0;
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(bos.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                names.add(e.getName());
                if (e.isLink()) {
                    links++;
                    assertThat(e.getLinkName()).isEqualTo("a/linked-1");
                }
                if (e.getName().equals("owned")) {
                    assertThat(e.getLongUserId()).isEqualTo(3_000_000L);
                    assertThat(e.getLastModifiedTime().toInstant()).isEqualTo(java.time.Instant.ofEpochSecond(1_700_000_000L, 999_999_999));
                }
                if (e.getName().equals("a/linked-1")) {
                    assertThat(e.getExtraPaxHeader("SCHILY.xattr.user.text")).isEqualTo("value");
                }
                if (e.getName().equals("blk-dev")) {
                    assertThat(e.getDevMajor()).isEqualTo(8);
                    assertThat(e.getDevMinor()).isEqualTo(300);
                }
            }
        }
        assertThat(links).isEqualTo(1);
        assertThat(names.get(0)).isEqualTo("./");
        // every entry's parent directory comes before it
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i).endsWith("/") ? names.get(i).substring(0, names.get(i).length() - 1) : names.get(i);
            int slash = n.lastIndexOf('/');
            if (slash > 0 && !n.equals(".")) {
                assertThat(names.subList(0, i)).contains(n.substring(0, slash + 1));
            }
        }
        assertThat(names).contains("ünïcödé-目录/ファイル.txt", "a/" + "x".repeat(60) + "/" + "y".repeat(60) + "/"
                + "z".repeat(60) + "/" + "f".repeat(200));
    }

    /**
     * Unpacking the same image twice gives the same bytes: a PAX extended header carries its entry's mtime, not the
     * time of the run (it did, so two {@code nydus-image unpack} runs of the upstream v6 fixture differed).
     */
    @Test
    void unpackIsReproducibleAndPaxHeadersCarryTheEntryMtime(@TempDir Path tmp) throws Exception {
        Path boot = Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
        byte[] first;
        byte[] second;
        try (RafsImage fs = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("blobs")))) {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            TarUnpacker.unpack(fs, a);
            first = a.toByteArray();
        }
        Thread.sleep(1100); // a clock-stamped header would now differ
        try (RafsImage fs = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("blobs")))) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            TarUnpacker.unpack(fs, b);
            second = b.toByteArray();
        }
        assertThat(second).isEqualTo(first);
        // the raw header of each PAX extended header holds the mtime of the entry that follows it
        for (int off = 0; off + 512 <= first.length; ) {
            byte type = first[off + 156];
            long size = octal(first, off + 124, 12);
            if (type == 'x') {
                int next = off + 512 + (int) ((size + 511) / 512 * 512);
                assertThat(octal(first, off + 136, 12)).as("PAX header mtime at %d", off)
                        .isEqualTo(octal(first, next + 136, 12));
            }
            if (first[off] == 0) {
                break;
            }
            off += 512 + (int) ((type == '5' || type == '1' || type == '2' ? 0 : size + 511) / 512 * 512);
        }
    }

    private static long octal(byte[] b, int off, int len) {
        long v = 0;
        for (int i = off; i < off + len && b[i] != 0 && b[i] != ' '; i++) {
            v = v * 8 + (b[i] - '0');
        }
        return v;
    }

    static Path extract(RafsFileSystem fs, Path tmp, boolean root) throws IOException, InterruptedException {
        Path tarFile = tmp.resolve("out.tar");
        try (var os = Files.newOutputStream(tarFile)) {
            TarUnpacker.unpack(fs, os);
        }
        Path dir = Files.createDirectories(tmp.resolve("extracted"));
        List<String> cmd = new ArrayList<>(List.of("tar", "--xattrs", "--xattrs-include=*", "-xpf", tarFile.toString(),
                "-C", dir.toString()));
        if (root) {
            cmd.add(1, "--same-owner");
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assumeTrue(p.waitFor(60, TimeUnit.SECONDS), "tar did not finish");
        assertThat(p.exitValue()).as("tar output: %s", output).isZero();
        return dir;
    }

    /** Paths of 99..101 bytes, and one whose 99-byte header stand-in would end in '/', keep their type and bytes. */
    @Test
    void pathsAroundTheUstarNameLimitRoundTrip(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        List<String> paths = List.of("a".repeat(49) + "/" + "f".repeat(49), "b".repeat(49) + "/" + "f".repeat(50),
                "c".repeat(49) + "/" + "f".repeat(51), "d".repeat(98) + "/e", "g".repeat(98) + "/hh");
        for (String p : paths) {
            Path f = src.resolve(p);
            Files.createDirectories(f.getParent());
            Files.writeString(f, "content of " + p);
        }
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        var r = new dev.nydus4j.rafs.builder.ImageBuilder(dev.nydus4j.rafs.builder.BuildOptions.defaults()
                .withSourceType(dev.nydus4j.rafs.builder.SourceType.DIR)).build(src, tmp.resolve("boot"), null, blobs);
        try (RafsImage fs = RafsImage.open(r.bootstrap(), dev.nydus4j.storage.LocalChunkReader.forDirectory(blobs))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            TarUnpacker.unpack(fs, out);
            List<String> files = new ArrayList<>();
            try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
                for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
                    if (e.isFile()) {
                        files.add(e.getName());
                        assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                                .isEqualTo("content of " + e.getName());
                    }
                }
            }
            assertThat(files).containsExactlyInAnyOrderElementsOf(paths);
        }
    }
}
