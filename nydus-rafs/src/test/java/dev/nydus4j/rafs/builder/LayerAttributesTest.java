package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.nydus4j.rafs.builder.TarSourceTest.file;
import static dev.nydus4j.rafs.builder.TarSourceTest.tar;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Layer attributes through per-layer bootstrap files, as {@code nydus-image create} + {@code merge} run them on
 * layers written by umoci: parents a layer only implies keep the lower layer's attributes, and whiteouts below a
 * directory the layer replaced by a file are ignored.
 */
class LayerAttributesTest {
    @TempDir
    Path tmp;

    private RafsTree layerViaBootstrap(byte[] tar) throws IOException {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.TAR).withChunkSize(4096))
                .build(new ByteArrayInputStream(tar), tmp.resolve("boot-" + System.nanoTime()), null, blobs);
        return Bootstraps.read(r.bootstrap()); // the bootstrap bytes, not the in-memory tree
    }

    private static void dir(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream out, String name,
                            int mode, long mtimeMillis) throws IOException {
        TarArchiveEntry d = new TarArchiveEntry(name, TarConstants.LF_DIR);
        d.setModTime(mtimeMillis);
        d.setMode(mode);
        d.setUserId(1000);
        out.putArchiveEntry(d);
        out.closeArchiveEntry();
    }

    private static Node at(RafsTree t, String path) {
        Node n = t.root;
        for (String c : path.split("/")) {
            if (!c.isEmpty()) {
                n = n.child(c);
            }
        }
        return n;
    }

    @Test
    void impliedParentsKeepTheLowerLayersAttributes() throws Exception {
        RafsTree lower = layerViaBootstrap(tar(out -> {
            dir(out, "./", 0750, 1_500_000_000_000L);
            dir(out, "var/", 0711, 1_600_000_000_000L);
            dir(out, "var/lib/", 0700, 1_600_000_001_000L);
            file(out, "var/lib/old", "old".getBytes(StandardCharsets.UTF_8));
        }));
        // no entries for "./", "var/" or "var/lib/": umoci leaves out unchanged parents
        RafsTree upper = layerViaBootstrap(tar(out -> file(out, "var/lib/new", "new".getBytes(StandardCharsets.UTF_8))));
        RafsTree merged = Merger.merge(List.of(lower, upper));
        Inode var = at(merged, "var").inode();
        assertThat(var.mode & 07777).isEqualTo(0711);
        assertThat(var.uid).isEqualTo(1000);
        assertThat(var.mtimeSec).isEqualTo(1_600_000_000L);
        assertThat(var.mtimeNsec).isZero();
        assertThat(at(merged, "var/lib").inode().mode & 07777).isEqualTo(0700);
        assertThat(merged.root.inode().mode & 07777).isEqualTo(0750);
        assertThat(at(merged, "var/lib").child("old")).isNotNull();
        assertThat(at(merged, "var/lib").child("new")).isNotNull();
    }

    @Test
    void explicitUpperDirectoriesStillWinAndNewImpliedOnesGetPlainDefaults() throws Exception {
        RafsTree lower = layerViaBootstrap(tar(out -> dir(out, "etc/", 0755, 1_500_000_000_000L)));
        RafsTree upper = layerViaBootstrap(tar(out -> {
            dir(out, "etc/", 0700, 1_700_000_000_000L);
            file(out, "opt/tool/bin", "x".getBytes(StandardCharsets.UTF_8));
        }));
        RafsTree merged = Merger.merge(List.of(lower, upper));
        assertThat(at(merged, "etc").inode().mode & 07777).isEqualTo(0700);
        assertThat(at(merged, "etc").inode().mtimeSec).isEqualTo(1_700_000_000L);
        Inode opt = at(merged, "opt").inode();
        assertThat(opt.mode & 07777).isEqualTo(0755);
        assertThat(opt.mtimeSec).isZero();
        assertThat(opt.mtimeNsec).as("implied-directory mark cleared in merged images").isZero();
    }

    @Test
    void whiteoutsBelowADirectoryReplacedByAFileAreIgnored() throws Exception {
        RafsTree lower = layerViaBootstrap(tar(out -> {
            dir(out, "new/", 0755, 1_600_000_000_000L);
            file(out, "new/file", "in dir".getBytes(StandardCharsets.UTF_8));
        }));
        RafsTree upper = layerViaBootstrap(tar(out -> {
            file(out, "new", "now a file".getBytes(StandardCharsets.UTF_8));
            file(out, "new/.wh.file", new byte[0]);
        }));
        RafsTree merged = Merger.merge(List.of(lower, upper));
        Node n = at(merged, "new");
        assertThat(n.inode().isRegular()).isTrue();
        assertThat(n.inode().size).isEqualTo("now a file".length());
    }

    @Test
    void aLayerWithoutDataStillShipsItsBootstrapInABlob() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildOptions o = BuildOptions.defaults().withSourceType(SourceType.TAR).withChunkSize(4096).withBlobInlineMeta(true);
        BuildResult r = new ImageBuilder(o).build(new ByteArrayInputStream(tar(out -> {
            file(out, ".wh.gone", new byte[0]);
            file(out, "empty", new byte[0]);
        })), null, null, blobs);
        assertThat(r.newBlobId()).isNotNull();
        assertThat(r.tree().blobs).isEmpty();
        byte[] boot = dev.nydus4j.storage.blob.BlobFile.open(r.blob()).inlinedBootstrap().orElseThrow();
        RafsTree layer = Bootstraps.read(boot, "inlined bootstrap");
        assertThat(layer.blobs).isEmpty();
        assertThat(layer.root.child("empty")).isNotNull();
        RafsTree lower = layerViaBootstrap(tar(out -> file(out, "gone", "x".getBytes(StandardCharsets.UTF_8))));
        RafsTree merged = Merger.merge(List.of(lower, layer));
        assertThat(merged.root.child("gone")).isNull();
        assertThat(merged.blobs).hasSize(1);
    }
}
