package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class ImageBuilderDirectoryTest {
    @TempDir
    Path tmp;

    private static BuildOptions small() {
        return BuildOptions.defaults().withChunkSize(4096);
    }

    static TreeSnapshot snapshotOfImage(Path bootstrap, Path blobDir) throws Exception {
        try (RafsImage img = RafsImage.open(bootstrap, LocalChunkReader.forDirectory(blobDir))) {
            return TreeSnapshot.of(img);
        }
    }

    /**
     * Outputs are opened without truncation when they are empty (temporary files) and with it when they hold
     * something: a blob and a bootstrap written over longer old files are exactly the new ones.
     */
    @Test
    void namesThatAreNotValidUtf8AreRefusedClearlyInsteadOfStoredWrong() throws Exception {
        // the JDK decodes file names with sun.jnu.encoding (UTF-8 here): a byte like 0xff cannot be kept
        Path src = Files.createDirectories(tmp.resolve("src-bytes"));
        Files.writeString(src.resolve("fine-\u00fc.txt"), "utf-8 names are fine\n");
        Process p = new ProcessBuilder("bash", "-c", "touch \"$1\"/$'bad\\xff'", "bash", src.toString())
                .redirectErrorStream(true).start();
        assertThat(p.waitFor()).isZero();
        assertThat(nativeBytesOk()).isTrue();
        ImageBuilder b = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.build(src, tmp.resolve("bytes.boot"), null,
                Files.createDirectories(tmp.resolve("blobs-bytes"))))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining(src.toString())
                .hasMessageContaining("is not valid UTF-8");

        Path src2 = Files.createDirectories(tmp.resolve("src-link"));
        p = new ProcessBuilder("bash", "-c", "ln -s $'to\\xfe' \"$1\"/link", "bash", src2.toString())
                .redirectErrorStream(true).start();
        assertThat(p.waitFor()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.build(src2, tmp.resolve("link.boot"), null,
                Files.createDirectories(tmp.resolve("blobs-link"))))
                .hasMessageContaining("symlink target").hasMessageContaining("is not valid UTF-8");
    }

    private static boolean nativeBytesOk() {
        return "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding", "UTF-8"));
    }

    @Test
    void blobAndBootstrapReplaceLongerExistingFilesAndFillEmptyOnes() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().seed(7).chunkSize(4096).scale(1));
        BuildOptions o = BuildOptions.defaults().withChunkSize(4096);
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult fresh = new ImageBuilder(o).build(src, tmp.resolve("fresh.boot"), null, blobs);
        long blobSize = Files.size(fresh.blob());
        Path oldBlob = Files.write(tmp.resolve("old.blob"), new byte[(int) blobSize + 100_000]);
        long bootSize = Files.size(tmp.resolve("fresh.boot"));
        Path oldBoot = Files.write(tmp.resolve("old.boot"), new byte[(int) bootSize + 5000]);
        Path emptyBlob = Files.createFile(tmp.resolve("empty.blob"));
        new ImageBuilder(o).build(src, oldBoot, oldBlob, null);
        new ImageBuilder(o).build(src, tmp.resolve("second.boot"), emptyBlob, null);
        assertThat(Files.mismatch(oldBlob, fresh.blob())).isEqualTo(-1L);
        assertThat(Files.mismatch(emptyBlob, fresh.blob())).isEqualTo(-1L);
        assertThat(Files.mismatch(oldBoot, tmp.resolve("fresh.boot"))).isEqualTo(-1L);
    }

    @Test
    void generatedTreeRoundTripsThroughV6BootstrapAndBlob() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().chunkSize(4096).bigDirectory(10_000));
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        Path boot = tmp.resolve("image.boot");
        BuildResult r = new ImageBuilder(small()).build(src, boot, null, blobs);

        assertThat(r.newBlobId()).matches("[0-9a-f]{64}");
        assertThat(r.blob()).isEqualTo(blobs.resolve(r.newBlobId()));
        assertThat(r.blobIds()).containsExactly(r.newBlobId());
        assertThat(sha256(r.blob())).isEqualTo(r.newBlobId());
        assertThat(Files.list(blobs).count()).as("no temp files left").isEqualTo(1);

        TreeSnapshot expected = TreeSnapshot.of(src);
        TreeSnapshot actual = snapshotOfImage(boot, blobs);
        assertThat(expected.diff(actual)).isEmpty();
        assertThat(actual.entries()).hasSizeGreaterThan(10_000);
    }

    @Test
    void everyCompressorAndDigesterRoundTrips() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().chunkSize(4096).specialFiles(false));
        TreeSnapshot expected = TreeSnapshot.of(src);
        for (CompressionAlgorithm c : List.of(CompressionAlgorithm.NONE, CompressionAlgorithm.LZ4_BLOCK,
                CompressionAlgorithm.ZSTD)) {
            for (DigestAlgorithm d : DigestAlgorithm.values()) {
                Path blobs = Files.createDirectory(tmp.resolve("blobs-" + c + "-" + d));
                Path boot = tmp.resolve("boot-" + c + "-" + d);
                BuildResult r = new ImageBuilder(small().withCompressor(c).withDigester(d)).build(src, boot, null,
                        blobs);
                assertThat(r.tree().blobs.get(0).compressionAlgo()).isEqualTo(c.id());
                assertThat(r.tree().blobs.get(0).digestAlgo()).isEqualTo(d.id());
                assertThat(expected.diff(snapshotOfImage(boot, blobs))).as(c + "/" + d).isEmpty();
            }
        }
    }

    @Test
    void identicalContentIsStoredOnce() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        byte[] content = new byte[3 * 4096 + 10];
        new java.util.Random(1).nextBytes(content);
        Files.write(src.resolve("a"), content);
        Files.write(src.resolve("b"), content);
        byte[] other = content.clone();
        other[content.length - 1] ^= 1; // same first three chunks, different tail
        Files.write(src.resolve("c"), other);
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(small()).build(src, tmp.resolve("boot"), null, blobs);

        RafsTree t = r.tree();
        List<ChunkRef> a = t.root.child("a").inode().chunks;
        List<ChunkRef> b = t.root.child("b").inode().chunks;
        List<ChunkRef> c = t.root.child("c").inode().chunks;
        assertThat(a).hasSize(4);
        assertThat(b).extracting(x -> x.info().index()).isEqualTo(a.stream().map(x -> x.info().index()).toList());
        assertThat(c.subList(0, 3)).extracting(x -> x.info().index())
                .isEqualTo(a.subList(0, 3).stream().map(x -> x.info().index()).toList());
        assertThat(c.get(3).info().index()).isNotEqualTo(a.get(3).info().index());
        assertThat(b).extracting(ChunkRef::fileOffset).containsExactly(0L, 4096L, 8192L, 12288L);
        assertThat(t.blobs.get(0).chunkCount()).isEqualTo(5);
        assertThat(TreeSnapshot.of(src).diff(snapshotOfImage(tmp.resolve("boot"), blobs),
                TreeSnapshot.Field.DIR_MTIME)).isEmpty();
    }

    @Test
    void repeatedChunksInsideOneFileAreStoredOnce() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.write(src.resolve("zeros"), new byte[10 * 4096]);
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(small()).build(src, tmp.resolve("boot"), null, blobs);
        assertThat(r.tree().blobs.get(0).chunkCount()).isEqualTo(1);
        assertThat(r.tree().root.child("zeros").inode().chunks).hasSize(10)
                .allMatch(x -> x.info().index() == 0);
    }

    @Test
    void noDataMeansNoBlob() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.createFile(src.resolve("empty"));
        Files.createDirectory(src.resolve("dir"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("empty"));
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(small()).build(src, tmp.resolve("boot"), null, blobs);
        assertThat(r.newBlobId()).isNull();
        assertThat(r.blob()).isNull();
        assertThat(r.tree().blobs).isEmpty();
        assertThat(Files.list(blobs).count()).isZero();
        assertThat(TreeSnapshot.of(src).diff(snapshotOfImage(tmp.resolve("boot"), blobs))).isEmpty();
    }

    @Test
    void prefetchListKeepsAbsolutePathsOnly() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "data");
        BuildResult r = new ImageBuilder(small().withPrefetchPaths(List.of("/f", "relative", "/missing")))
                .build(src, null, tmp.resolve("blob"), null);
        assertThat(r.tree().prefetchPaths).containsExactly("/f", "/missing");
        assertThat(r.blob()).isEqualTo(tmp.resolve("blob"));
        assertThat(Files.size(r.blob())).isEqualTo(r.tree().blobs.get(0).compressedSize());
    }

    @Test
    void hardLinksShareOneInode() throws Exception {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "data");
        Files.createLink(src.resolve("g"), src.resolve("f"));
        Files.createDirectory(src.resolve("d"));
        Files.createLink(src.resolve("d/h"), src.resolve("f"));
        BuildResult r = new ImageBuilder(small()).build(src, null, tmp.resolve("blob"), null);
        Node root = r.tree().root;
        assertThat(root.child("g").inode()).isSameAs(root.child("f").inode())
                .isSameAs(root.child("d").child("h").inode());
        assertThat(r.tree().blobs.get(0).chunkCount()).isEqualTo(1);
    }

    @Test
    void sourceMustMatchItsDeclaredType() throws Exception {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ImageBuilder(small()
                        .withSourceType(SourceType.DIR)).build(file, null, tmp.resolve("blob"), null))
                .hasMessageContaining("not a directory");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ImageBuilder(small()
                        .withSourceType(SourceType.TAR)).build(tmp, null, tmp.resolve("blob"), null))
                .hasMessageContaining("is a directory");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ImageBuilder(small())
                        .build(tmp.resolve("nope"), null, tmp.resolve("blob"), null))
                .hasMessageContaining("does not exist");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ImageBuilder(small())
                        .build(tmp, null, null, null))
                .hasMessageContaining("both blob path and blob dir are missing");
    }

    static String sha256(Path p) throws Exception {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        md.update(Files.readAllBytes(p));
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    static Set<ByteBuffer> distinctDigests(RafsTree t) {
        Set<ByteBuffer> s = new HashSet<>();
        ChunkIndex.forEachChunk(t, c -> s.add(ByteBuffer.wrap(c.digest())));
        return s;
    }

    static Set<String> blobIds(RafsTree t) {
        return t.blobs.stream().map(BlobInfo::blobId).collect(Collectors.toSet());
    }
}
