package dev.nydus4j.rafs.v5;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.check.ImageChecker;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.TestImages;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.nydus4j.rafs.v6.TestImages.S_IFDIR;
import static dev.nydus4j.rafs.v6.TestImages.S_IFREG;
import static dev.nydus4j.rafs.v6.TestImages.inode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RAFS v5 writer: upstream byte identity, round trips through the reader, the checker and a real build. */
class RafsV5WriterTest {
    @TempDir
    Path tmp;

    /** The upstream fixture, read and written again, is the same file byte for byte (layout, digests, sizes). */
    /** A tree of only its root directory: 4 KiB chunks, stored uncompressed, digested with {@code digester}. */
    private static RafsTree emptyTree(DigestAlgorithm digester) {
        RafsTree t = new RafsTree(new Node(new byte[0], inode(S_IFDIR | 0755, 0, 0, 1, 0)));
        t.chunkSize = 4096;
        t.compressor = CompressionAlgorithm.NONE;
        t.digester = digester;
        return t;
    }

    @Test
    void rewritesTheUpstreamFixturesByteForByte() throws Exception {
        for (String name : List.of("repeatable/sha256-nocompress-repeatable", "repeatable/blake3-lz4_block-non_repeatable")) {
            byte[] upstream = Files.readAllBytes(Fixtures.upstream(name));
            RafsTree tree = RafsV5Reader.read(upstream, name, true);
            byte[] ours = RafsV5Writer.toBytes(tree);
            assertThat(ours.length).as(name).isEqualTo(upstream.length);
            assertThat(firstDifference(ours, upstream)).as(name + ": first differing offset").isEqualTo(-1);
        }
    }

    @Test
    void richTreeRoundTripsWithVerifiedDigests() throws Exception {
        long seed = System.nanoTime();
        System.out.println("RafsV5WriterTest seed=" + seed);
        RafsTree t = TestImages.richTree(seed, 0x10000, 3000, new TestImages.BlobImage(0, 0x10000));
        Path boot = tmp.resolve("v5.boot");
        RafsV5Writer.write(t, boot);
        byte[] bytes = Files.readAllBytes(boot);
        assertThat(bytes.length % 8).isZero();
        assertThat(Bootstraps.version(boot)).isEqualTo(5);
        RafsTree back = RafsV5Reader.read(bytes, boot.toString(), true);
        // v5 keeps of a blob only id, chunk count, sizes and layout feature bits; algorithms are the superblock's
        t.blobs.replaceAll(RafsV5WriterTest::v5View);
        TestImages.assertSameTree(t, back);
        assertThat(back.xattrFlag).isTrue();
        assertThat(RafsV5Writer.toBytes(back)).isEqualTo(bytes);
        assertThat(ImageChecker.check(boot).version()).isEqualTo(5);
    }

    @Test
    void layoutFollowsUpstreamRules() throws Exception {
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 4096);
        RafsTree t = emptyTree(DigestAlgorithm.BLAKE3);
        Node root = t.root;
        Node a = TestImages.dir(root, "a", 0755);
        Node aa = TestImages.dir(a, "aa", 0755);
        TestImages.dir(a, "empty", 0755);
        Node f = TestImages.file(aa, "f", blob, new byte[5000]);
        Node b = TestImages.dir(root, "b", 0755);
        b.putChild(new Node("link-to-f", f.inode()));
        TestImages.file(root, "z", blob, "z".getBytes(StandardCharsets.UTF_8));
        t.blobs.add(blob.finish());
        t.digester = DigestAlgorithm.SHA256; // TestImages blobs use sha256
        byte[] bytes = RafsV5Writer.toBytes(t);
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        RafsV5SuperBlock sb = RafsV5SuperBlock.wrap(bb);
        sb.validate("test", bytes.length);
        // indexes: / 1; a 2, b 3, z 4; a's children aa 5, empty 6; aa's f 7; b's link-to-f 8
        assertThat(sb.inodeTableEntries()).isEqualTo(8);
        assertThat(sb.inodesCount()).as("distinct inodes without the root").isEqualTo(6);
        assertThat(sb.flags()).isEqualTo(RafsV5SuperBlock.FLAG_COMPRESSION_NONE | RafsV5SuperBlock.FLAG_HASH_SHA256
                | RafsV5SuperBlock.FLAG_EXPLICIT_UID_GID);
        assertThat(sb.blobTableOffset()).isEqualTo(8192 + 32);
        assertThat(sb.blobTableSize()).isEqualTo(72);
        assertThat(sb.extBlobTableOffset()).isEqualTo(8192 + 32 + 72);
        List<String> names = new ArrayList<>();
        RafsV5InodeRecord rec = new RafsV5InodeRecord(bb);
        long prevOffset = 0;
        for (int i = 1; i <= 8; i++) {
            int off = bb.getInt(8192 + 4 * (i - 1)) * 8;
            assertThat(off).as("records in index order").isGreaterThan((int) prevOffset);
            prevOffset = off;
            rec.at(off);
            byte[] n = new byte[rec.nameSize()];
            bb.get(off + RafsV5InodeRecord.SIZE, n);
            names.add(new String(n, StandardCharsets.UTF_8) + ":" + rec.ino() + ":" + rec.parent() + ":"
                    + rec.childIndex() + "+" + rec.childCount() + ":n" + rec.nlink() + ":s" + rec.size());
        }
        assertThat(names).containsExactly(
                "/:1:0:2+3:n4:s4096",
                "a:2:1:5+2:n4:s4096",
                "b:3:1:8+1:n2:s4096",
                "z:4:1:0+1:n1:s1",
                "aa:5:2:7+1:n2:s4096",
                "empty:6:2:8+0:n2:s4096", // next free index once aa is done
                "f:7:5:0+2:n2:s5000",
                "link-to-f:7:3:0+2:n2:s5000");
        RafsTree back = RafsV5Reader.read(bytes, "test", true);
        assertThat(back.root.child("b").child("link-to-f").inode()).isSameAs(back.root.child("a").child("aa")
                .child("f").inode());
    }

    @Test
    void directorySizeAndBlocksFollowTheNames() {
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 4096);
        RafsTree t = emptyTree(DigestAlgorithm.SHA256);
        Node root = t.root;
        Node big = TestImages.dir(root, "big", 0755);
        for (int i = 0; i < 40; i++) {
            TestImages.file(big, String.format("%0100d", i), blob, new byte[0]); // 40 * (100 + 8) = 4320
        }
        t.blobs.add(blob.finish());
        byte[] bytes = RafsV5Writer.toBytes(t);
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        RafsV5InodeRecord rec = new RafsV5InodeRecord(bb).at(bb.getInt(8192 + 4) * 8);
        assertThat(rec.size()).isEqualTo(8192);
        assertThat(bb.getLong(rec.offset() + RafsV5InodeRecord.BLOCKS_OFFSET)).isEqualTo(16);
    }

    @Test
    void refusesWhatV5CannotHold() {
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 4096);
        RafsTree t = emptyTree(DigestAlgorithm.SHA256);
        Node root = t.root;
        TestImages.file(root, "f", blob, new byte[10]);
        t.blobs.add(blob.finish());
        t.compressor = CompressionAlgorithm.ZSTD;
        assertThatThrownBy(() -> RafsV5Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("one compressor (zstd)");
        t.compressor = CompressionAlgorithm.NONE;
        Node x = new Node("x", inode(S_IFREG | 0644, 0, 0, 1, 0));
        x.inode().xattrs.put("other.name", new byte[]{1});
        root.putChild(x);
        assertThatThrownBy(() -> RafsV5Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'/x'").hasMessageContaining("other.name");
        root.removeChild("x".getBytes(StandardCharsets.UTF_8));
        Node sub = TestImages.dir(root, "d", 0755);
        sub.putChild(new Node("again", sub.inode()));
        assertThatThrownBy(() -> RafsV5Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/d/again");
        root.removeChild("d".getBytes(StandardCharsets.UTF_8));
        t.blobs.set(0, t.blobs.get(0).withIdAndIndex("../escape", 0));
        assertThatThrownBy(() -> RafsV5Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("../escape");
    }

    /** A generated source tree built by our builder, written as v5: the checker and the image agree with it. */
    @Test
    void generatedTreeBuildsAndChecksAsV5() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().chunkSize(0x10000).scale(0.3).bigDirectory(1000));
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withChunkSize(0x10000))
                .build(src, tmp.resolve("v6.boot"), null, blobs);
        Path boot = tmp.resolve("v5.boot");
        RafsV5Writer.write(r.tree(), boot);
        ImageChecker.Report report = ImageChecker.check(boot, blobs);
        assertThat(report.version()).isEqualTo(5);
        assertThat(report.chunksVerified()).isPositive();
        TreeSnapshot expected = TreeSnapshot.of(src);
        try (RafsImage img = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs))) {
            assertThat(expected.diff(TreeSnapshot.of(img))).isEmpty();
        }
    }

    private static BlobInfo v5View(BlobInfo b) {
        return new BlobInfo(b.blobId(), b.blobIndex(), b.chunkSize(), b.chunkCount(), b.compressionAlgo(),
                b.digestAlgo(), b.features() & RafsV5BlobTable.WRITTEN_FEATURES, b.compressedSize(),
                b.uncompressedSize(), 0, 0, 0, 0, 0, new byte[32], new byte[32], 0);
    }

    private static int firstDifference(byte[] a, byte[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : Math.min(a.length, b.length);
    }
}
