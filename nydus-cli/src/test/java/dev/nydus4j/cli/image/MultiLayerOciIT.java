package dev.nydus4j.cli.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Multi-layer OCI acceptance: umoci builds a busybox image in three layers (deletions of files and whole
 * directories, an emptied-and-refilled directory, mode changes, replaced files; umoci writes the whiteouts). Each
 * layer blob is converted with {@code create -t targz-rafs}, the layer bootstraps are merged, and the merged image
 * must equal {@code umoci unpack} of the same image. Root only; skips without umoci or busybox-static.
 */
class MultiLayerOciIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void mergedLayersEqualUmociUnpack() throws Exception {
        TreeSnapshot got = buildAndCompare(false);
        assertThat(got.get("/etc/motd")).isNull();
        assertThat(got.get("/var/lib/state")).isNull();
        assertThat(got.get("/opt/app/conf")).isNull();
        assertThat(got.get("/opt/app/only")).isNotNull();
        assertThat(got.get("/usr/share/doc").mode()).isEqualTo(0700);
        assertThat(got.get("/usr").mode()).isEqualTo(0750);
        assertThat(got.get("/bin/ls").type()).isEqualTo(dev.nydus4j.api.FileType.REGULAR);
        assertThat(got.get("/bin/cat").target()).isEqualTo("busybox");
    }

    /**
     * umoci writes a directory replaced by a file as the file followed by whiteouts for the directory's old children
     * ({@code new}, then {@code new/.wh.file}); such layers are valid and must convert.
     */
    @Test
    void directoryReplacedByAFileInAnUpperLayer() throws Exception {
        TreeSnapshot got = buildAndCompare(true);
        assertThat(got.get("/new").type()).isEqualTo(dev.nydus4j.api.FileType.REGULAR);
        assertThat(got.get("/new/file")).isNull();
    }

    /** Builds the three-layer image with umoci, converts and merges it, compares with umoci unpack. */
    private TreeSnapshot buildAndCompare(boolean dirToFile) throws Exception {
        assumeTrue(ExternalCommand.isRoot(), "needs root (umoci unpack keeps owners)");
        assumeTrue(ExternalCommand.available("umoci"), "umoci not installed (scripts/install-test-deps.sh)");
        Path busybox = Path.of("/bin/busybox");
        assumeTrue(Files.isExecutable(busybox), "busybox-static not installed (scripts/install-test-deps.sh)");
        Path layout = tmp.resolve("layout");
        String img = layout + ":";
        ExternalCommand.run("umoci", "init", "--layout", layout.toString());
        ExternalCommand.run("umoci", "new", "--image", img + "v0");

        // layer 1: busybox rootfs
        Path b1 = tmp.resolve("b1");
        ExternalCommand.run("umoci", "unpack", "--image", img + "v0", b1.toString());
        Path r = b1.resolve("rootfs");
        Files.createDirectories(r.resolve("bin"));
        Files.copy(busybox, r.resolve("bin/busybox"));
        for (String applet : ExternalCommand.run(busybox.toString(), "--list").split("\\s+")) {
            if (!applet.isBlank() && !applet.equals("busybox")) {
                Files.createSymbolicLink(r.resolve("bin").resolve(applet), Path.of("busybox"));
            }
        }
        write(r, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
        write(r, "etc/group", "root:x:0:\nnogroup:x:65534:\n");
        write(r, "etc/motd", "layer one\n");
        write(r, "usr/share/doc/busybox/README", "busybox docs\n".repeat(100));
        write(r, "var/lib/state/db", "state\n".repeat(5000));
        write(r, "var/lib/state/sub/more", "more\n");
        write(r, "opt/app/conf", "v1\n");
        write(r, "opt/app/lib/libapp.so", "library v1\n".repeat(300));
        Files.createDirectories(r.resolve("tmp"));
        Files.setPosixFilePermissions(r.resolve("tmp"), PosixFilePermissions.fromString("rwxrwxrwx"));
        ExternalCommand.run("chmod", "+t", r.resolve("tmp").toString());
        ExternalCommand.run("chown", "65534:65534", r.resolve("var/lib/state/db").toString());
        ExternalCommand.run("umoci", "repack", "--image", img + "v1", b1.toString());

        // layer 2: delete a file and a whole directory, replace a file, change a directory mode, add files
        Path b2 = tmp.resolve("b2");
        ExternalCommand.run("umoci", "unpack", "--image", img + "v1", b2.toString());
        r = b2.resolve("rootfs");
        Files.delete(r.resolve("etc/motd"));
        ExternalCommand.run("rm", "-rf", r.resolve("var/lib/state").toString());
        write(r, "opt/app/conf", "v2 replaced\n");
        Files.setPosixFilePermissions(r.resolve("usr/share/doc"), PosixFilePermissions.fromString("rwx------"));
        write(r, "new/file", "added in layer two\n");
        ExternalCommand.run("umoci", "repack", "--image", img + "v2", b2.toString());

        // layer 3: empty and refill a directory (opaque), turn a symlink into a file, a directory into a file
        Path b3 = tmp.resolve("b3");
        ExternalCommand.run("umoci", "unpack", "--image", img + "v2", b3.toString());
        r = b3.resolve("rootfs");
        ExternalCommand.run("rm", "-rf", r.resolve("opt/app").toString());
        write(r, "opt/app/only", "the only file left\n");
        Files.delete(r.resolve("bin/ls"));
        write(r, "bin/ls", "#!/bin/sh\necho replaced ls\n");
        if (dirToFile) {
            ExternalCommand.run("rm", "-rf", r.resolve("new").toString());
            write(r, "new", "now a regular file\n");
        }
        ExternalCommand.run("chmod", "0750", r.resolve("usr").toString());
        ExternalCommand.run("umoci", "repack", "--image", img + "v3", b3.toString());

        // convert each layer blob of v3 and merge them
        List<Path> layers = layerBlobs(layout, "v3");
        assertThat(layers).hasSize(3);
        Path blobDir = Files.createDirectories(tmp.resolve("nydus-blobs"));
        List<String> boots = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Path boot = tmp.resolve("layer" + (i + 1) + ".boot");
            CliRun.ok("create", "--log-level", "warn", "-t", "targz-rafs", "--bootstrap", boot.toString(),
                    "--blob-dir", blobDir.toString(), layers.get(i).toString());
            boots.add(boot.toString());
        }
        Path merged = tmp.resolve("merged.boot");
        Path json = tmp.resolve("merge.json");
        List<String> args = new ArrayList<>(List.of("merge", "--log-level", "warn", "--bootstrap", merged.toString(),
                "--output-json", json.toString()));
        args.addAll(boots);
        CliRun.ok(args.toArray(new String[0]));
        JsonNode blobs = JSON.readTree(json.toFile()).get("blobs");
        assertThat(blobs.size()).isBetween(1, 3);

        Path bundle = tmp.resolve("final");
        ExternalCommand.run("umoci", "unpack", "--image", img + "v3", bundle.toString());
        TreeSnapshot want = TreeSnapshot.of(bundle.resolve("rootfs"));
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(blobDir);
             RafsImage image = RafsImage.open(merged, reader)) {
            TreeSnapshot got = TreeSnapshot.of(image);
            List<String> diff = want.without("/").diff(got.without("/"), TreeSnapshot.Field.DIR_NLINK);
            assertThat(diff).as("merged nydus image vs umoci unpack").isEmpty();
            return got;
        }
    }

    private static void write(Path root, String rel, String content) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
    }

    /** Layer blobs (tar+gzip) of {@code tag}, lowest first, as files in the layout. */
    private static List<Path> layerBlobs(Path layout, String tag) throws IOException {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        String manifestDigest = null;
        for (JsonNode m : index.get("manifests")) {
            if (tag.equals(m.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
                manifestDigest = m.get("digest").asText();
            }
        }
        assertThat(manifestDigest).as("tag " + tag + " in index.json").isNotNull();
        JsonNode manifest = JSON.readTree(blobPath(layout, manifestDigest).toFile());
        List<Path> out = new ArrayList<>();
        for (JsonNode l : manifest.get("layers")) {
            assertThat(l.get("mediaType").asText()).endsWith("tar+gzip");
            out.add(blobPath(layout, l.get("digest").asText()));
        }
        return out;
    }

    private static Path blobPath(Path layout, String digest) {
        String[] parts = digest.split(":", 2);
        return layout.resolve("blobs").resolve(parts[0]).resolve(parts[1]);
    }
}
