package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6Writer;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.TreeSnapshot;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.nydus4j.rafs.builder.TarSourceTest.entry;
import static dev.nydus4j.rafs.builder.TarSourceTest.file;
import static dev.nydus4j.rafs.builder.TarSourceTest.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MergerTest {
    @TempDir
    Path tmp;

    private Path blobs;

    private static final BuildOptions OPTS = BuildOptions.defaults().withChunkSize(4096)
            .withSourceType(SourceType.TAR);

    private BuildResult layer(byte[] tar, BuildOptions o) throws IOException {
        if (blobs == null) {
            blobs = Files.createDirectories(tmp.resolve("blobs"));
        }
        return new ImageBuilder(o).build(new ByteArrayInputStream(tar), tmp.resolve("boot-" + System.nanoTime()),
                null, blobs);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void dir(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream out, String name,
                            int mode) throws IOException {
        TarArchiveEntry d = new TarArchiveEntry(name, TarConstants.LF_DIR);
        d.setModTime(1_600_000_000_000L + mode);
        d.setMode(mode);
        out.putArchiveEntry(d);
        out.closeArchiveEntry();
    }

    private byte[] lowerTar() throws IOException {
        return tar(out -> {
            dir(out, "a/", 0755);
            file(out, "a/file1", bytes("lower one"));
            file(out, "a/file2", bytes("lower two"));
            dir(out, "b/", 0755);
            file(out, "b/c", bytes("lower c"));
            dir(out, "b/sub/", 0755);
            file(out, "b/sub/deep", bytes("lower deep"));
            dir(out, "d/", 0755);
            file(out, "d/in-d", bytes("stays"));
            file(out, "keep", bytes("old keep"));
            file(out, "hl-a", bytes("linked"));
            entry(out, "hl-b", TarConstants.LF_LINK, "hl-a");
            file(out, "was-file", bytes("becomes a dir"));
            dir(out, "was-dir/", 0755);
            file(out, "was-dir/child", bytes("goes away"));
            file(out, ".wh.nothing-below", new byte[0]);
        });
    }

    private byte[] upperTar() throws IOException {
        return tar(out -> {
            file(out, "a/.wh.file1", new byte[0]);
            dir(out, "b/", 0750);
            file(out, "b/.wh..wh..opq", new byte[0]);
            file(out, "b/new", bytes("upper new"));
            dir(out, "d/", 0700);
            file(out, "keep", bytes("new keep content"));
            file(out, "hl-b", bytes("copied up"));
            dir(out, "was-file/", 0755);
            file(out, "was-file/inside", bytes("inside"));
            file(out, "was-dir", bytes("now a file"));
            file(out, ".wh.not-there", new byte[0]);
        });
    }

    @Test
    void overlayAppliesWhiteoutsOpaqueDirsReplacementsAndModes() throws Exception {
        BuildResult lower = layer(lowerTar(), OPTS);
        BuildResult upper = layer(upperTar(), OPTS);
        RafsTree lowerRead = Bootstraps.read(lower.bootstrap());
        RafsTree upperRead = Bootstraps.read(upper.bootstrap());
        RafsTree merged = Merger.merge(List.of(lowerRead, upperRead));

        assertThat(merged.blobs).extracting(BlobInfo::blobId).containsExactly(lower.newBlobId(), upper.newBlobId());
        assertThat(merged.blobs).extracting(BlobInfo::blobIndex).containsExactly(0, 1);
        Path boot = tmp.resolve("merged.boot");
        RafsV6Writer.write(merged, boot);
        TreeSnapshot s;
        try (RafsImage img = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs))) {
            s = TreeSnapshot.of(img);
        }
        assertThat(s.entries().keySet()).containsExactly("/", "/a", "/a/file2", "/b", "/b/new", "/d", "/d/in-d",
                "/hl-a", "/hl-b", "/keep", "/was-dir", "/was-file", "/was-file/inside");
        assertThat(s.get("/a/file2").sha256()).isEqualTo(sha("lower two"));
        assertThat(s.get("/b").mode()).isEqualTo(0750);
        assertThat(s.get("/d").mode()).isEqualTo(0700);
        assertThat(s.get("/keep").sha256()).isEqualTo(sha("new keep content"));
        assertThat(s.get("/hl-b").sha256()).isEqualTo(sha("copied up"));
        // copy-up broke the link: the lower name keeps the lower inode alone
        assertThat(s.get("/hl-a").nlink()).isEqualTo(1);
        assertThat(s.get("/hl-a").sha256()).isEqualTo(sha("linked"));
        assertThat(s.get("/was-dir").type()).isEqualTo(FileType.REGULAR);
        assertThat(s.get("/was-file").type()).isEqualTo(FileType.DIRECTORY);
        // chunks of the upper layer point at the second blob
        assertThat(merged.root.child("keep").inode().chunks).extracting(ChunkRef::blobIndex).containsOnly(1);
        assertThat(merged.root.child("a").child("file2").inode().chunks).extracting(ChunkRef::blobIndex)
                .containsOnly(0);
        // sources untouched
        assertThat(lowerRead.root.child("a").child("file1")).isNotNull();
        assertThat(upperRead.root.child("a").child(".wh.file1")).isNotNull();
    }

    @Test
    void parentBootstrapBuildEqualsMerge() throws Exception {
        BuildResult lower = layer(lowerTar(), OPTS);
        byte[] upperTar = upperTar();
        BuildResult onParent = layer(upperTar, OPTS.withParentBootstrap(lower.bootstrap()));
        BuildResult upper = layer(upperTar, OPTS);
        RafsTree merged = Merger.merge(List.of(Bootstraps.read(lower.bootstrap()), Bootstraps.read(upper.bootstrap())));
        assertThat(onParent.blobIds()).containsExactly(lower.newBlobId(), upper.newBlobId());
        Path mergedBoot = tmp.resolve("merged.boot");
        RafsV6Writer.write(merged, mergedBoot);
        try (RafsImage a = RafsImage.open(onParent.bootstrap(), LocalChunkReader.forDirectory(blobs));
             RafsImage b = RafsImage.open(mergedBoot, LocalChunkReader.forDirectory(blobs))) {
            assertThat(TreeSnapshot.of(a).diff(TreeSnapshot.of(b))).isEmpty();
            assertThat(TreeSnapshot.of(a).get("/.wh.nothing-below")).isNull();
        }
        assertThat(Arrays.equals(Files.readAllBytes(onParent.bootstrap()), Files.readAllBytes(mergedBoot)))
                .as("bootstrap bytes identical").isTrue();
    }

    @Test
    void hardLinkIntoTheParentImageSharesItsInode() throws Exception {
        BuildResult lower = layer(lowerTar(), OPTS);
        byte[] upperTar = tar(out -> {
            entry(out, "link-to-lower", TarConstants.LF_LINK, "a/file1");
            file(out, ".wh.keep", new byte[0]);
            entry(out, "link-to-hidden", TarConstants.LF_LINK, "keep");
        });
        assertThatThrownBy(() -> layer(upperTar, OPTS)).hasMessageContaining("needs the parent bootstrap");
        assertThatThrownBy(() -> layer(upperTar, OPTS.withParentBootstrap(lower.bootstrap())))
                .hasMessageContaining("'keep' is not an earlier entry of this layer nor of the parent image");
        byte[] ok = tar(out -> entry(out, "link-to-lower", TarConstants.LF_LINK, "a/file1"));
        BuildResult r = layer(ok, OPTS.withParentBootstrap(lower.bootstrap()));
        assertThat(r.tree().root.child("link-to-lower").inode())
                .isSameAs(r.tree().root.child("a").child("file1").inode());
        try (RafsImage img = RafsImage.open(r.bootstrap(), LocalChunkReader.forDirectory(blobs))) {
            TreeSnapshot s = TreeSnapshot.of(img);
            assertThat(s.get("/link-to-lower").nlink()).isEqualTo(2);
            assertThat(s.get("/link-to-lower").sha256()).isEqualTo(sha("lower one"));
        }
    }

    @Test
    void whiteoutSpecNoneKeepsMarkersAsFilesOnAParent() throws Exception {
        BuildResult lower = layer(lowerTar(), OPTS);
        BuildResult r = layer(upperTar(), OPTS.withWhiteoutSpec(WhiteoutSpec.NONE)
                .withParentBootstrap(lower.bootstrap()));
        Node a = r.tree().root.child("a");
        assertThat(a.children()).extracting(Node::nameString).containsExactly(".wh.file1", "file1", "file2");
        assertThat(r.tree().root.child("b").child("sub")).as("no opaque processing").isNotNull();
    }

    @Test
    void identicalBlobIdsAreKeptOnceAndThreeLayersStack() throws Exception {
        BuildResult a = layer(tar(out -> file(out, "x", bytes("same"))), OPTS);
        BuildResult b = layer(tar(out -> file(out, "y", bytes("same"))), OPTS);
        BuildResult c = layer(tar(out -> {
            file(out, ".wh.x", new byte[0]);
            file(out, "z", bytes("third"));
        }), OPTS);
        assertThat(b.newBlobId()).isEqualTo(a.newBlobId());
        RafsTree m = Merger.merge(List.of(Bootstraps.read(a.bootstrap()), Bootstraps.read(b.bootstrap()),
                Bootstraps.read(c.bootstrap())));
        assertThat(m.blobs).extracting(BlobInfo::blobId).containsExactly(a.newBlobId(), c.newBlobId());
        assertThat(m.root.children()).extracting(Node::nameString).containsExactly("y", "z");
        assertThat(m.root.child("z").inode().chunks).extracting(ChunkRef::blobIndex).containsOnly(1);
    }

    @Test
    void inlinedBootstrapPlaceholderIsReplacedByTheLayerDigest() throws Exception {
        BuildOptions inline = OPTS.withBlobInlineMeta(true);
        BuildResult lower = layer(lowerTar(), inline);
        BuildResult upper = layer(upperTar(), inline);
        List<RafsTree> perLayer = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        List<byte[]> tocDigests = new ArrayList<>();
        for (BuildResult r : List.of(lower, upper)) {
            assertThat(ImageBuilderDirectoryTest.sha256(r.blob())).isEqualTo(r.newBlobId());
            byte[] boot;
            try (BlobFile bf = BlobFile.open(r.blob())) {
                boot = bf.inlinedBootstrap().orElseThrow();
            }
            RafsTree t = Bootstraps.read(boot, r.blob() + "#image.boot");
            assertThat(t.blobs).extracting(BlobInfo::blobId).containsExactly(Merger.PLACEHOLDER_BLOB_ID);
            assertThat(t.blobs.get(0).hasFeature(BlobInfo.FEATURE_INLINED_FS_META)).isTrue();
            perLayer.add(t);
            digests.add(r.newBlobId());
            sizes.add(Files.size(r.blob()));
            tocDigests.add(r.tree().blobs.get(0).tocDigest());
        }
        assertThatThrownBy(() -> Merger.merge(perLayer)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("placeholder");
        assertThatThrownBy(() -> Merger.merge(perLayer, new Merger.Options(List.of(digests.get(0)), List.of(),
                List.of(), List.of(), List.of()))).hasMessageContaining("1 values given for 2 sources");

        RafsTree merged = Merger.merge(perLayer, new Merger.Options(digests, sizes, tocDigests, List.of(),
                List.of("/a", "relative")));
        assertThat(merged.blobs).extracting(BlobInfo::blobId).containsExactlyElementsOf(digests);
        assertThat(merged.blobs).extracting(BlobInfo::compressedSize).containsExactlyElementsOf(sizes);
        assertThat(merged.blobs.get(1).tocDigest()).isEqualTo(tocDigests.get(1));
        assertThat(merged.prefetchPaths).containsExactly("/a");
        Path boot = tmp.resolve("merged.boot");
        RafsV6Writer.write(merged, boot);
        try (RafsImage img = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs))) {
            TreeSnapshot s = TreeSnapshot.of(img);
            assertThat(s.get("/keep").sha256()).isEqualTo(sha("new keep content"));
            assertThat(s.get("/b/sub")).isNull();
        }
    }

    @Test
    void chunkDictionaryChunksAreReferencedNotStored() throws Exception {
        byte[] shared = new byte[4 * 4096];
        new java.util.Random(11).nextBytes(shared);
        BuildResult dict = layer(tar(out -> file(out, "big", shared)), OPTS);
        byte[] extra = bytes("only in the new layer");
        BuildResult r = layer(tar(out -> {
            file(out, "copy-of-big", shared);
            file(out, "extra", extra);
        }), OPTS.withChunkDictBootstrap(dict.bootstrap()));
        assertThat(r.blobIds()).containsExactly(r.newBlobId(), dict.newBlobId());
        assertThat(r.tree().blobs.get(0).chunkCount()).isEqualTo(1);
        assertThat(r.tree().blobs.get(1).blobIndex()).isEqualTo(1);
        assertThat(r.tree().root.child("copy-of-big").inode().chunks).extracting(ChunkRef::blobIndex)
                .containsOnly(1);
        try (RafsImage img = RafsImage.open(r.bootstrap(), LocalChunkReader.forDirectory(blobs))) {
            TreeSnapshot s = TreeSnapshot.of(img);
            assertThat(s.get("/copy-of-big").sha256()).isEqualTo(sha(shared));
            assertThat(s.get("/extra").sha256()).isEqualTo(sha(extra));
        }
        // everything in the dictionary: no new blob, the dictionary blob takes slot 0
        BuildResult none = layer(tar(out -> file(out, "again", shared)), OPTS.withChunkDictBootstrap(dict.bootstrap()));
        assertThat(none.newBlobId()).isNull();
        assertThat(none.blobIds()).containsExactly(dict.newBlobId());
        assertThat(none.tree().root.child("again").inode().chunks).extracting(ChunkRef::blobIndex).containsOnly(0);
        try (RafsImage img = RafsImage.open(none.bootstrap(), LocalChunkReader.forDirectory(blobs))) {
            assertThat(TreeSnapshot.of(img).get("/again").sha256()).isEqualTo(sha(shared));
        }
    }

    @Test
    void inconsistentLayersAreRejected() throws Exception {
        BuildResult a = layer(tar(out -> file(out, "x", bytes("a"))), OPTS);
        BuildResult b = layer(tar(out -> file(out, "x", bytes("b"))), OPTS.withChunkSize(8192));
        assertThatThrownBy(() -> Merger.merge(List.of(Bootstraps.read(a.bootstrap()), Bootstraps.read(b.bootstrap()))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inconsistent filesystem");
        assertThatThrownBy(() -> Merger.merge(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void overlayfsWhiteoutsOfADirectoryLayerAreConverted() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.nydus4j.testkit.TreeGenerator.isRoot(),
                "needs root for mknod and trusted.* xattrs");
        BuildResult lower = layer(lowerTar(), OPTS);
        Path up = Files.createDirectories(tmp.resolve("upper/b"));
        Path wh = tmp.resolve("upper/keep");
        Process p = new ProcessBuilder("mknod", wh.toString(), "c", "0", "0").start();
        assertThat(p.waitFor()).isZero();
        Files.writeString(up.resolve("fresh"), "fresh");
        dev.nydus4j.testkit.LinuxXattrs.set(up, "trusted.overlay.opaque", bytes("y"));
        BuildResult upper = layer(new byte[0], OPTS); // placeholder to reuse blob dir
        assertThat(upper.newBlobId()).isNull();
        BuildResult dirLayer = new ImageBuilder(OPTS.withSourceType(SourceType.DIR)
                .withWhiteoutSpec(WhiteoutSpec.OVERLAYFS)).build(tmp.resolve("upper"), tmp.resolve("up.boot"), null,
                blobs);
        Node root = dirLayer.tree().root;
        assertThat(root.child(".wh.keep")).isNotNull();
        assertThat(root.child("keep")).isNull();
        assertThat(root.child("b").child(".wh..wh..opq")).isNotNull();
        assertThat(root.child("b").inode().xattrs).doesNotContainKey("trusted.overlay.opaque");
        RafsTree m = Merger.merge(List.of(Bootstraps.read(lower.bootstrap()), Bootstraps.read(tmp.resolve("up.boot"))));
        assertThat(m.root.child("keep")).isNull();
        assertThat(m.root.child("b").children()).extracting(Node::nameString).containsExactly("fresh");
    }

    private static String sha(String s) throws Exception {
        return sha(bytes(s));
    }

    private static String sha(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @SuppressWarnings("unused")
    private static boolean same(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
