package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TarSourceTest {
    @TempDir
    Path tmp;

    private BuildResult build(byte[] tar) throws IOException {
        return build(new ByteArrayInputStream(tar), BuildOptions.defaults().withChunkSize(4096));
    }

    private BuildResult build(InputStream tar, BuildOptions o) throws IOException {
        Path blobs = tmp.resolve("blobs-" + System.nanoTime());
        Files.createDirectories(blobs);
        return new ImageBuilder(o).build(tar, tmp.resolve("boot-" + System.nanoTime()), null, blobs);
    }

    private static Node at(RafsTree t, String path) {
        Node n = t.root;
        for (String c : path.substring(1).split("/")) {
            assertThat(n).as("parent of " + path).isNotNull();
            n = n.child(c);
        }
        assertThat(n).as(path).isNotNull();
        return n;
    }

    // ---------------------------------------------------------------------------------- upstream fixtures

    @Test
    void upstreamAllEntryTypeTar() throws Exception {
        Path fixture = Fixtures.upstream("tar/all-entry-type.tar");
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.TAR))
                .build(fixture, tmp.resolve("boot"), null, blobs);
        RafsTree t = r.tree();
        Inode hl1 = at(t, "/tar/dir1/dir3/hardlink1.txt").inode();
        assertThat(hl1.type()).isEqualTo(FileType.REGULAR);
        assertThat(hl1.size).isEqualTo(15);
        assertThat(hl1.mode & 07777).isEqualTo(0644);
        assertThat(at(t, "/tar/dir1/dir3/xfile.txt").inode()).isSameAs(hl1);
        assertThat(at(t, "/tar/dir1/hardlink2.txt").inode()).isSameAs(hl1);
        assertThat(at(t, "/tar/dir2/hardlink3.txt").inode()).isSameAs(hl1);
        Inode sym = at(t, "/tar/dir2/symlink1.txt").inode();
        assertThat(sym.type()).isEqualTo(FileType.SYMLINK);
        assertThat(new String(sym.symlinkTarget, StandardCharsets.UTF_8)).isEqualTo("../dir1/dir3/file1.txt");
        assertThat(at(t, "/tar").inode().mode).isEqualTo(040755);
        // 2022-10-12 14:35 (UTC in the archive header)
        assertThat(at(t, "/tar").inode().mtimeSec).isBetween(1665580000L, 1665590000L);
        assertThat(t.root.children()).hasSize(1);
        assertThat(r.tree().blobs).hasSize(1);
        assertThat(r.tree().blobs.get(0).chunkCount()).isEqualTo(1);
        TreeSnapshot img = ImageBuilderDirectoryTest.snapshotOfImage(tmp.resolve("boot"), blobs);
        assertThat(img.get("/tar/dir2/hardlink3.txt").nlink()).isEqualTo(4);
        assertThat(img.get("/tar/dir2/hardlink3.txt").linkGroup()).isEqualTo("/tar/dir1/dir3/hardlink1.txt");
    }

    @Test
    void upstreamMacosTarWithLibarchiveXattrs() throws Exception {
        Path fixture = Fixtures.upstream("tar/all-entry-type-macos.tar");
        BuildResult r;
        try (InputStream in = Files.newInputStream(fixture)) {
            r = build(in, BuildOptions.defaults());
        }
        RafsTree t = r.tree();
        Inode target = at(t, "/tar/dir1/hardlink2.txt").inode();
        assertThat(target.size).isEqualTo(15);
        assertThat(at(t, "/tar/dir1/dir3/xfile.txt").inode()).isSameAs(target);
        assertThat(at(t, "/tar/dir1/dir3/hardlink1.txt").inode()).isSameAs(target);
        assertThat(at(t, "/tar/dir2/hardlink3.txt").inode()).isSameAs(target);
        // AppleDouble companions are ordinary files of the layer
        assertThat(at(t, "/tar/dir1/._hardlink2.txt").inode().size).isEqualTo(149);
        String longName = "this_is_really_a_very_long_name_to_test_tar_entry_type_" + "a".repeat(180) + ".txt";
        Node dir3 = at(t, "/tar/dir1/dir3");
        assertThat(dir3.children()).extracting(Node::nameString)
                .anySatisfy(n -> assertThat(n).startsWith("this_is_really_a_very_long_name").endsWith(".txt"));
        assertThat(longName).isNotEmpty();
        // the LIBARCHIVE.xattr.* names of this archive have no namespace prefix: RAFS cannot store them
        assertThat(target.xattrs).isEmpty();
    }

    /**
     * umoci 0.4.7's {@code insert ... /} writes the root as "/" (the only absolute name accepted) and ends the layer
     * right after the last file's data: no padding, no end-of-archive blocks. The builder reads such layers.
     */
    @Test
    void umociInsertLayerWithSlashRootAndUnpaddedEnd() throws Exception {
        byte[] full = tar(out -> {
            TarArchiveEntry root = new TarArchiveEntry("/", true);
            root.setMode(040700);
            out.putArchiveEntry(root);
            out.closeArchiveEntry();
            TarArchiveEntry etc = new TarArchiveEntry("etc/");
            out.putArchiveEntry(etc);
            out.closeArchiveEntry();
            byte[] hello = "hi\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry h = new TarArchiveEntry("etc/hello");
            h.setSize(hello.length);
            out.putArchiveEntry(h);
            out.write(hello);
            out.closeArchiveEntry();
            byte[] data = "data\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry f = new TarArchiveEntry("f");
            f.setSize(data.length);
            out.putArchiveEntry(f);
            out.write(data);
            out.closeArchiveEntry();
        });
        // end the archive right after the last file's 5 data bytes (which start on a block boundary)
        int last = -1;
        for (int off = 0; off + 5 <= full.length; off += 512) {
            if (new String(full, off, 5, StandardCharsets.UTF_8).equals("data\n")) {
                last = off;
            }
        }
        assertThat(last).isPositive();
        byte[] cut = Arrays.copyOf(full, last + 5);
        RafsTree t = build(cut).tree();
        assertThat(t.root.inode().mode & 07777).isEqualTo(0700);
        assertThat(at(t, "/etc/hello").inode().size).isEqualTo(3);
        assertThat(at(t, "/f").inode().size).isEqualTo(5);
        assertThat(t.root.children()).extracting(Node::nameString).containsExactlyInAnyOrder("etc", "f");
    }

    @Test
    void upstreamEmptyTarGivesAnEmptyRootAndNoBlob() throws Exception {
        Path fixture = Fixtures.upstream("tar/empty.tar");
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults()).build(fixture, tmp.resolve("boot"), null, blobs);
        assertThat(r.tree().root.children()).isEmpty();
        assertThat(r.tree().root.inode().isDirectory()).isTrue();
        assertThat(r.newBlobId()).isNull();
        assertThat(Files.list(blobs).count()).isZero();
        assertThat(Files.size(tmp.resolve("boot"))).isPositive();
    }

    // ---------------------------------------------------------------------------------- generated tars

    interface TarBody {
        void write(TarArchiveOutputStream out) throws IOException;
    }

    static byte[] tar(TarBody body) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bos)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            body.write(out);
        }
        return bos.toByteArray();
    }

    /** Plain ustar (no PAX headers at all), so that header fields sit at the start of the archive. */
    static byte[] ustar(String name, int size) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bos)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setModTime(1_600_000_000_000L);
            e.setSize(size);
            out.putArchiveEntry(e);
            out.write(new byte[size]);
            out.closeArchiveEntry();
        }
        return bos.toByteArray();
    }

    static void file(TarArchiveOutputStream out, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setModTime(1_600_000_000_000L);
        e.setSize(data.length);
        e.setMode(0644);
        out.putArchiveEntry(e);
        out.write(data);
        out.closeArchiveEntry();
    }

    static void entry(TarArchiveOutputStream out, String name, byte type, String link) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, type);
        e.setModTime(1_600_000_000_000L);
        if (link != null) {
            e.setLinkName(link);
        }
        out.putArchiveEntry(e);
        out.closeArchiveEntry();
    }

    @Test
    void everyEntryTypeAndPaxFeature() throws Exception {
        byte[] big = new byte[3 * 4096 + 5];
        new Random(7).nextBytes(big);
        String longName = "long/" + "n".repeat(200) + "/" + "f".repeat(250);
        String longTarget = "t".repeat(300);
        byte[] tar = tar(out -> {
            TarArchiveEntry root = new TarArchiveEntry("./", TarConstants.LF_DIR);
            root.setMode(0750);
            root.setUserId(5);
            root.setGroupId(6);
            out.putArchiveEntry(root);
            out.closeArchiveEntry();
            file(out, "implicit/parent/file", "x".getBytes(StandardCharsets.UTF_8));
            file(out, longName, big);
            entry(out, "sym", TarConstants.LF_SYMLINK, longTarget);
            entry(out, "hard", TarConstants.LF_LINK, longName);
            TarArchiveEntry chr = new TarArchiveEntry("dev/null", TarConstants.LF_CHR);
            chr.setDevMajor(1);
            chr.setDevMinor(3);
            out.putArchiveEntry(chr);
            out.closeArchiveEntry();
            TarArchiveEntry blk = new TarArchiveEntry("dev/loop", TarConstants.LF_BLK);
            blk.setDevMajor(259);
            blk.setDevMinor(70000);
            out.putArchiveEntry(blk);
            out.closeArchiveEntry();
            entry(out, "fifo", TarConstants.LF_FIFO, null);
            TarArchiveEntry x = new TarArchiveEntry("xattrs");
            x.setSize(0);
            x.addPaxHeader("SCHILY.xattr.user.a", "va");
            x.addPaxHeader("SCHILY.xattr.security.capability", "cap");
            x.addPaxHeader("LIBARCHIVE.xattr.trusted.b", java.util.Base64.getEncoder()
                    .encodeToString(new byte[] {0, 1, (byte) 0xff}));
            x.addPaxHeader("SCHILY.xattr.com.apple.quarantine", "dropped");
            x.setUserId(3_000_000); // beyond the octal field: PAX uid
            x.setGroupId(4_000_000);
            x.setLastModifiedTime(FileTime.from(Instant.ofEpochSecond(1_700_000_000L, 123_456_789)));
            x.setMode(04755);
            out.putArchiveEntry(x);
            out.closeArchiveEntry();
            file(out, "dup", "first".getBytes(StandardCharsets.UTF_8));
            file(out, "dup", "second".getBytes(StandardCharsets.UTF_8));
            file(out, "a/./b/../c", "normalised".getBytes(StandardCharsets.UTF_8));
            TarArchiveEntry d1 = new TarArchiveEntry("d/", TarConstants.LF_DIR);
            d1.setMode(0700);
            out.putArchiveEntry(d1);
            out.closeArchiveEntry();
            file(out, "d/kept", new byte[0]);
            TarArchiveEntry d2 = new TarArchiveEntry("d/", TarConstants.LF_DIR);
            d2.setMode(0711);
            out.putArchiveEntry(d2);
            out.closeArchiveEntry();
            file(out, ".wh.deleted", new byte[0]);
        });
        BuildResult r = build(tar);
        RafsTree t = r.tree();
        assertThat(t.root.inode().mode).isEqualTo(040750);
        assertThat(t.root.inode().uid).isEqualTo(5);
        assertThat(at(t, "/implicit/parent").inode().mode).isEqualTo(040755);
        Inode lf = at(t, "/" + longName).inode();
        assertThat(lf.size).isEqualTo(big.length);
        assertThat(lf.chunks).hasSize(4);
        assertThat(at(t, "/hard").inode()).isSameAs(lf);
        assertThat(new String(at(t, "/sym").inode().symlinkTarget, StandardCharsets.UTF_8)).isEqualTo(longTarget);
        assertThat(at(t, "/dev/null").inode().type()).isEqualTo(FileType.CHAR_DEVICE);
        assertThat(at(t, "/dev/null").inode().rdev).isEqualTo(0x103);
        assertThat(at(t, "/dev/loop").inode().rdev).isEqualTo((70000 & 0xff) | (259 << 8) | ((70000 & ~0xff) << 12));
        assertThat(at(t, "/fifo").inode().type()).isEqualTo(FileType.FIFO);
        Inode xi = at(t, "/xattrs").inode();
        assertThat(xi.xattrs.keySet()).containsExactly("security.capability", "trusted.b", "user.a");
        assertThat(xi.xattrs.get("trusted.b")).containsExactly(0, 1, 0xff);
        assertThat(xi.uid).isEqualTo(3_000_000);
        assertThat(xi.gid).isEqualTo(4_000_000);
        assertThat(xi.mtimeSec).isEqualTo(1_700_000_000L);
        // commons-compress writes PAX times with 7 fractional digits
        assertThat(xi.mtimeNsec).isEqualTo(123_456_700);
        assertThat(xi.mode).isEqualTo(0104755);
        assertThat(at(t, "/dup").inode().size).isEqualTo(6);
        assertThat(at(t, "/a/c").inode().size).isEqualTo(10);
        assertThat(at(t, "/d").inode().mode).isEqualTo(040711);
        assertThat(at(t, "/d/kept")).isNotNull();
        // single-layer build keeps OCI whiteouts as empty files for the merge
        assertThat(at(t, "/.wh.deleted").inode().isRegular()).isTrue();
        // whole image readable back through the v6 bootstrap
        TreeSnapshot img = ImageBuilderDirectoryTest.snapshotOfImage(r.bootstrap(), r.blob().getParent());
        assertThat(img.get("/hard").nlink()).isEqualTo(2);
        assertThat(img.get("/xattrs").xattrs()).containsEntry("trusted.b", "0001ff");
        assertThat(img.get("/dup").sha256()).isEqualTo(sha("second"));
    }

    private static String sha(String s) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The builder reads a stream to its end but leaves it open, also after a garbage collection: zstd-jni's stream
     * closes its source from its finalizer, which once closed nydusify's layer stream before the digest check.
     */
    @Test
    void compressedStreamsAreLeftOpenAfterTheBuildEvenOnceCollected() throws Exception {
        byte[] tar = tar(out -> file(out, "a", new byte[5000]));
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GzipCompressorOutputStream g = new GzipCompressorOutputStream(gz)) {
            g.write(tar);
        }
        for (byte[] stream : List.of(com.github.luben.zstd.Zstd.compress(tar), gz.toByteArray(), tar)) {
            java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
            InputStream in = new java.io.FilterInputStream(new ByteArrayInputStream(stream)) {
                @Override
                public void close() {
                    closed.set(true);
                }
            };
            build(in, BuildOptions.defaults().withChunkSize(4096));
            for (int i = 0; i < 3; i++) {
                System.gc();
                System.runFinalization();
            }
            assertThat(closed).as("the caller's stream stays open").isFalse();
        }
    }

    @Test
    void gzipAndZstdStreamsGiveTheSameTree() throws Exception {
        byte[] data = new byte[10_000];
        new Random(3).nextBytes(data);
        byte[] tar = tar(out -> {
            file(out, "a", data);
            entry(out, "l", TarConstants.LF_SYMLINK, "a");
        });
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GzipCompressorOutputStream g = new GzipCompressorOutputStream(gz)) {
            g.write(tar);
        }
        byte[] zst = com.github.luben.zstd.Zstd.compress(tar);
        BuildResult plain = build(tar);
        BuildResult fromGz = build(gz.toByteArray());
        BuildResult fromZst = build(zst);
        assertThat(fromGz.newBlobId()).isEqualTo(plain.newBlobId());
        assertThat(fromZst.newBlobId()).isEqualTo(plain.newBlobId());
        assertThat(Files.readAllBytes(fromGz.bootstrap())).isEqualTo(Files.readAllBytes(plain.bootstrap()));
    }

    @Test
    void gnuSparseFileIsExpanded() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tar")), "needs GNU tar");
        Path dir = Files.createDirectory(tmp.resolve("sparse"));
        Path f = dir.resolve("holes");
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap("begin".getBytes(StandardCharsets.UTF_8)), 0);
            ch.write(java.nio.ByteBuffer.wrap("end".getBytes(StandardCharsets.UTF_8)), 5 * 4096 + 17);
        }
        for (String format : List.of("gnu", "posix")) {
            Path tarFile = tmp.resolve("sparse-" + format + ".tar");
            Process p = new ProcessBuilder("tar", "--format=" + format, "--sparse", "-C", dir.toString(), "-cf",
                    tarFile.toString(), "holes").redirectErrorStream(true).start();
            assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes())).isZero();
            BuildResult r;
            try (InputStream in = Files.newInputStream(tarFile)) {
                r = build(in, BuildOptions.defaults().withChunkSize(4096));
            }
            Inode holes = r.tree().root.child("holes").inode();
            assertThat(holes.size).as(format).isEqualTo(5 * 4096 + 20);
            TreeSnapshot img = ImageBuilderDirectoryTest.snapshotOfImage(r.bootstrap(), r.blob().getParent());
            assertThat(img.get("/holes").sha256()).as(format)
                    .isEqualTo(TreeSnapshot.of(dir).get("/holes").sha256());
        }
    }

    // ---------------------------------------------------------------------------------- hostile input

    private void assertRejected(byte[] tar, String... messageParts) {
        assertThatThrownBy(() -> build(tar)).isInstanceOf(IOException.class)
                .satisfies(e -> {
                    for (String m : messageParts) {
                        assertThat(e.getMessage()).contains(m);
                    }
                });
    }

    /** Overwrites a ustar header field of the first entry (raw, as a hostile writer would) and fixes the checksum. */
    static byte[] forge(byte[] tar, int fieldOffset, int fieldLength, String value) {
        byte[] out = tar.clone();
        Arrays.fill(out, fieldOffset, fieldOffset + fieldLength, (byte) 0);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(v, 0, out, fieldOffset, Math.min(v.length, fieldLength));
        Arrays.fill(out, 148, 156, (byte) ' ');
        int sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += out[i] & 0xff;
        }
        byte[] ck = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(ck, 0, out, 148, 8);
        return out;
    }

    @Test
    void rejectsNamesEscapingTheRoot() throws Exception {
        byte[] base = ustar("placeholder-name", 1);
        assertRejected(forge(base, 0, 100, "../evil"), "'../evil'", "escapes the root");
        assertRejected(forge(base, 0, 100, "a/../../evil"), "escapes the root");
        assertRejected(forge(base, 0, 100, "/etc/passwd"), "absolute name");
        assertRejected(forge(base, 0, 100, "/../evil"), "absolute name");
        // PAX path header (commons-compress keeps it verbatim)
        assertRejected(tar(out -> {
            TarArchiveEntry e = new TarArchiveEntry("x");
            e.addPaxHeader("path", "../../pax-evil");
            out.putArchiveEntry(e);
            out.closeArchiveEntry();
        }), "escapes the root");
    }

    @Test
    void rejectsEntriesBelowSymlinksOrFiles() throws Exception {
        assertRejected(tar(out -> {
            entry(out, "link", TarConstants.LF_SYMLINK, "/etc");
            file(out, "link/passwd", new byte[1]);
        }), "'link/passwd'", "parent '/link' is a symlink");
        assertRejected(tar(out -> {
            file(out, "f", new byte[1]);
            file(out, "f/x", new byte[1]);
        }), "'f/x'", "not a directory");
    }

    @Test
    void rejectsHardLinksOutsideTheLayer() throws Exception {
        assertRejected(tar(out -> entry(out, "hl", TarConstants.LF_LINK, "lower/file")),
                "'hl'", "'lower/file' is not an earlier entry of this layer");
        assertRejected(tar(out -> {
            entry(out, "d/", TarConstants.LF_DIR, null);
            entry(out, "hl", TarConstants.LF_LINK, "d");
        }), "hard link to directory");
        assertRejected(tar(out -> entry(out, "hl", TarConstants.LF_LINK, "../x")), "escapes the root");
    }

    @Test
    void rejectsOverlongComponents() throws Exception {
        assertRejected(tar(out -> file(out, "d/" + "x".repeat(256), new byte[1])), "256 bytes exceeds 255");
    }

    @Test
    void rejectsSizesBeyondTheStreamAndTruncation() throws Exception {
        byte[] ok = tar(out -> file(out, "f", new byte[20_000]));
        // cut inside the file data
        assertRejected(Arrays.copyOf(ok, 512 + 5000), "'f'");
        // a header claiming 8 GiB followed by a few KiB: fails without allocating the claimed size
        byte[] huge = forge(ustar("huge", 4096), 124, 12, "77777777777");
        assertRejected(huge, "'huge'", "at byte 4096 of 8589934591", "Truncated");
    }

    /**
     * A stream cut inside the header that follows a complete entry (GNU tar: "Unexpected EOF in archive") is an
     * error naming the entry and the offset; it used to build an image silently missing that entry and the rest.
     * Cut on the record boundary after the data it stays a layer without end-of-archive blocks (umoci).
     */
    @Test
    void rejectsAStreamCutInsideAHeader() throws Exception {
        byte[] ok = tar(out -> {
            file(out, "big", new byte[10_000]);
            file(out, "z", "small".getBytes(StandardCharsets.UTF_8));
        });
        int zHeader = 512 + 10_240; // after big's header and its padded data
        for (int cut : new int[]{zHeader + 1, zHeader + 136, zHeader + 511}) {
            assertRejected(Arrays.copyOf(ok, cut), "truncated tar stream", "header after entry 1",
                    "at byte " + cut);
        }
        // a zstd layer cut short fails already while the first header is read: the message names the source
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 100_000; i++) {
            text.append("line ").append(i).append('\n');
        }
        // under 128 KiB of tar: one zstd block, so half the frame holds no complete block
        byte[] big = tar(out -> file(out, "r", text.toString().getBytes(StandardCharsets.UTF_8)));
        byte[] zst = com.github.luben.zstd.Zstd.compress(big);
        assertRejected(Arrays.copyOf(zst, zst.length / 2), "<stream>: cannot read the first tar header", "Truncated");
        BuildResult boundary = build(Arrays.copyOf(ok, zHeader));
        assertThat(boundary.bootstrap()).isNotEmptyFile();
        BuildResult whole = build(ok);
        assertThat(whole.bootstrap()).isNotEmptyFile();
    }

    @Test
    void rejectsNonTarInput() throws Exception {
        byte[] random = new byte[4096];
        long seed = System.nanoTime();
        System.out.println("rejectsNonTarInput seed=" + seed);
        new Random(seed).nextBytes(random);
        assertRejected(random, "not a tar archive");
        assertRejected("hello".getBytes(StandardCharsets.UTF_8), "not a tar archive");
        byte[] zip = {'P', 'K', 3, 4};
        assertRejected(Arrays.copyOf(zip, 1024), "not a tar archive");
    }

    @Test
    void randomCorruptionNeverEscapesAsUncheckedException() throws Exception {
        byte[] good = tar(out -> {
            file(out, "a/b", new byte[5000]);
            entry(out, "l", TarConstants.LF_SYMLINK, "a/b");
            entry(out, "h", TarConstants.LF_LINK, "a/b");
        });
        long seed = System.nanoTime();
        System.out.println("randomCorruptionNeverEscapesAsUncheckedException seed=" + seed);
        Random rnd = new Random(seed);
        for (int i = 0; i < 200; i++) {
            byte[] bad = good.clone();
            for (int k = 0; k < 4; k++) {
                bad[rnd.nextInt(1024)] = (byte) rnd.nextInt();
            }
            try {
                build(bad);
            } catch (IOException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }
}
