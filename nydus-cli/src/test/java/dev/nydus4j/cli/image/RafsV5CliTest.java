package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.testkit.TreeGenerator;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code nydus-image create/merge --fs-version 5}: v5 bootstraps that our checker verifies chunk by chunk. */
class RafsV5CliTest {
    @TempDir
    Path tmp;

    @Test
    void createDirRafsV5ChecksCleanAndReportsVersion5() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().seed(5).chunkSize(0x10000).scale(0.2));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("v5.boot");
        Path json = tmp.resolve("out.json");
        CliRun.ok("create", "--fs-version", "5", "--chunk-size", "0x10000", "-B", boot.toString(), "-D",
                blobs.toString(), "-J", json.toString(), src.toString());
        assertThat(Bootstraps.version(boot)).isEqualTo(5);
        assertThat(Files.readString(json)).contains("\"fs_version\" : \"5\"");
        String check = CliRun.ok("check", boot.toString(), "-D", blobs.toString()).out();
        assertThat(check).contains("RAFS filesystem metadata is valid").contains("verified");
    }

    @Test
    void createTargzRafsV5AndMergeLayersIntoV5() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path lower = tmp.resolve("lower.boot");
        Path upper = tmp.resolve("upper.boot");
        Path lowerTar = targz("lower.tar.gz", "etc/a.conf", "lower a\n", "etc/b.conf", "lower b\n");
        Path upperTar = targz("upper.tar.gz", "etc/a.conf", "upper a\n", "etc/.wh.b.conf", "");
        CliRun.ok("create", "--fs-version", "5", "--type", "targz-rafs", "-B", lower.toString(), "-D",
                blobs.toString(), lowerTar.toString());
        CliRun.ok("create", "--fs-version", "5", "--type", "targz-rafs", "-B", upper.toString(), "-D",
                blobs.toString(), upperTar.toString());
        Path merged = tmp.resolve("merged.boot");
        Path json = tmp.resolve("merge.json");
        CliRun.ok("merge", "-B", merged.toString(), "-J", json.toString(), "--blob-digests",
                "sha256:" + blobIdOf(lower) + ",sha256:" + blobIdOf(upper), lower.toString(), upper.toString());
        assertThat(Bootstraps.version(merged)).isEqualTo(5);
        assertThat(Files.readString(json)).contains("\"fs_version\" : \"5\"");
        RafsTree t = Bootstraps.read(merged);
        assertThat(t.root.child("etc").child("b.conf")).as("whiteout applied").isNull();
        assertThat(t.root.child("etc").child("a.conf").inode().size).isEqualTo("upper a\n".length());
        assertThat(CliRun.ok("check", merged.toString(), "-D", blobs.toString()).out()).contains("in 2 blobs");
    }

    @Test
    void mergingV5WithV6IsRefused() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("f"), "x");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path v5 = tmp.resolve("a.boot");
        Path v6 = tmp.resolve("b.boot");
        CliRun.ok("create", "--fs-version", "5", "-B", v5.toString(), "-D", blobs.toString(), src.toString());
        CliRun.ok("create", "-B", v6.toString(), "-D", blobs.toString(), src.toString());
        CliRun r = CliRun.run("merge", "-B", tmp.resolve("m.boot").toString(), v5.toString(), v6.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("cannot merge RAFS v5 and v6 bootstraps").contains(v6.toString());
        assertThat(tmp.resolve("m.boot")).doesNotExist();
    }

    @Test
    void v5BlobWithInlinedMetadataMergesAsV5() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello v5\n");
        Path blob = tmp.resolve("layer.blob");
        CliRun.ok("create", "--fs-version", "5", "--blob-inline-meta", "-b", blob.toString(), src.toString());
        assertThat(Bootstraps.version(BootstrapSource.bootstrapBytes(blob), "inlined")).isEqualTo(5);
        Path merged = tmp.resolve("merged.boot");
        CliRun.ok("merge", "-B", merged.toString(), blob.toString());
        assertThat(Bootstraps.version(merged)).isEqualTo(5);
        String sha = BootstrapSource.blobSha256(blob);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Files.copy(blob, blobs.resolve(sha));
        assertThat(CliRun.ok("check", merged.toString(), "-D", blobs.toString()).out()).contains(sha);
    }

    /**
     * The containerd converter's merge (nydus-snapshotter {@code converter.Merge}, upstream smoke native-layer test):
     * the layer bootstrap is extracted from the blob's ToC into a file named by the blob's sha256 and merged without
     * {@code --blob-sizes}, so the table keeps the size from before the bootstrap was appended; check must accept it.
     */
    @Test
    void v5LayerBootstrapExtractedFromItsBlobMergesAndChecksWithoutBlobSizes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello v5\n".repeat(1000));
        Path blob = tmp.resolve("layer.blob");
        CliRun.ok("create", "--fs-version", "5", "--type", "dir-rafs", "--blob-inline-meta", "-b", blob.toString(),
                src.toString());
        String sha = BootstrapSource.blobSha256(blob);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Files.copy(blob, blobs.resolve(sha));
        Path extracted = Files.write(tmp.resolve(sha), BootstrapSource.bootstrapBytes(blob));
        Path merged = tmp.resolve("merged.boot");
        Path json = tmp.resolve("merge.json");
        CliRun.ok("merge", "--prefetch-policy", "fs", "-J", json.toString(), "-B", merged.toString(),
                extracted.toString());
        assertThat(Files.readString(json)).contains("\"" + sha + "\"");
        RafsTree t = Bootstraps.read(merged);
        assertThat(t.blobs.get(0).compressedSize()).as("size recorded before the bootstrap was appended")
                .isLessThan(Files.size(blob));
        assertThat(CliRun.ok("check", merged.toString(), "-D", blobs.toString()).out())
                .contains("RAFS filesystem metadata is valid").contains(sha);
    }

    private static String blobIdOf(Path boot) throws Exception {
        RafsTree t = Bootstraps.read(boot);
        return t.blobs.get(t.blobs.size() - 1).blobId();
    }

    private Path targz(String name, String... pathsAndContents) throws Exception {
        Path out = tmp.resolve(name);
        try (OutputStream os = Files.newOutputStream(out);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(os))) {
            TarArchiveEntry dir = new TarArchiveEntry("etc/");
            tar.putArchiveEntry(dir);
            tar.closeArchiveEntry();
            for (int i = 0; i < pathsAndContents.length; i += 2) {
                byte[] data = pathsAndContents[i + 1].getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry e = new TarArchiveEntry(pathsAndContents[i]);
                e.setSize(data.length);
                tar.putArchiveEntry(e);
                tar.write(data);
                tar.closeArchiveEntry();
            }
        }
        return out;
    }
}
