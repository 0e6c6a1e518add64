package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;
import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.OciTools;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** Registry-free runs: OCI layout and docker-archive sources, OCI layout targets. */
class LocalSourceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private LayeredImage image;

    @BeforeEach
    void buildImage() throws Exception {
        assumeThat(OciTools.available()).as("umoci, skopeo and busybox-static are needed; skipping").isTrue();
        image = TestImages.rich(Files.createDirectories(tmp.resolve("src")), "latest", "amd64", 42);
    }

    /** {@code nydusify check} of {@code target} against {@code source} (work dir "check"): passes, no difference. */
    private Nydusify.Result assertChecksEqual(String source, String target) {
        Nydusify.Result c = Nydusify.run("check", "--source", source, "--target", target,
                "--work-dir", tmp.resolve("check").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("0 difference(s)");
        return c;
    }

    @Test
    void ociLayoutToOciLayoutConvertsAndChecks() throws Exception {
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":nydus";
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target,
                "--work-dir", tmp.resolve("work").toString(), "--compressor", "lz4_block", "--chunk-size", "0x40000");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(tmp.resolve("work")).as("a work dir it created is removed again").doesNotExist();
        JsonNode index = JSON.readTree(tmp.resolve("out/index.json").toFile());
        assertThat(index.path("manifests").get(0).path("annotations").path(MediaTypes.ANNOTATION_REF_NAME).asText())
                .isEqualTo("nydus");
        assertThat(assertChecksEqual(source, target).out()).contains("OK:");
        // skopeo reads what we wrote: the layout is valid
        OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--raw", target);
    }

    /**
     * {@code --fs-version 5}: every layer blob inlines a v5 bootstrap, the merged bootstrap layer is v5, both
     * annotations say "5", and the check (which reads the image through our RAFS reader) finds no difference.
     */
    @Test
    void fsVersion5ConvertsToRafsV5AndChecks() throws Exception {
        String source = "oci:" + image.layout() + ":latest";
        Path out = tmp.resolve("out");
        String target = "oci:" + out + ":v5";
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target, "--fs-version", "5",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode index = JSON.readTree(out.resolve("index.json").toFile());
        Path blobs = out.resolve("blobs/sha256");
        String manifestDigest = index.path("manifests").get(0).path("digest").asText();
        JsonNode manifest = JSON.readTree(blobs.resolve(manifestDigest.substring(7)).toFile());
        assertThat(manifest.path("annotations").path(MediaTypes.ANNOTATION_FS_VERSION).asText()).isEqualTo("5");
        ArrayNode layers = (ArrayNode) manifest.path("layers");
        JsonNode bootLayer = layers.get(layers.size() - 1);
        assertThat(bootLayer.path("annotations").path(MediaTypes.ANNOTATION_FS_VERSION).asText()).isEqualTo("5");
        byte[] boot = BootstrapLayer.extract(Files.readAllBytes(blobs.resolve(
                bootLayer.path("digest").asText().substring(7))), "bootstrap layer").orElseThrow();
        assertThat(dev.nydus4j.rafs.Bootstraps.version(boot, "bootstrap layer")).isEqualTo(5);
        dev.nydus4j.rafs.tree.RafsTree tree = dev.nydus4j.rafs.v5.RafsV5Reader.read(boot, "bootstrap layer", true);
        assertThat(tree.blobs).hasSize(layers.size() - 1);
        for (int i = 0; i < layers.size() - 1; i++) {
            String digest = layers.get(i).path("digest").asText();
            assertThat(tree.blobs.get(i).blobId()).isEqualTo(digest.substring(7));
            try (dev.nydus4j.storage.blob.BlobFile bf = dev.nydus4j.storage.blob.BlobFile.open(
                    blobs.resolve(digest.substring(7)))) {
                assertThat(dev.nydus4j.rafs.Bootstraps.version(bf.inlinedBootstrap().orElseThrow(), digest))
                        .as("layer bootstrap inlined in %s", digest).isEqualTo(5);
            }
        }
        assertChecksEqual(source, target);
    }

    /**
     * Layers start biggest first (so that with more layers than workers no big layer runs alone at the end); the
     * image is the same: layer order in the manifest, and the check against the source passes.
     */
    @Test
    void biggestLayerIsConvertedFirstAndTheImageKeepsItsLayerOrder() throws Exception {
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":nydus";
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target, "--parallelism", "1",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        // layer 2 holds the 5 MB random file: the biggest descriptor, so with one worker it is converted first
        assertThat(r.err()).contains("layer 2/4 ", "layer 1/4 ");
        assertThat(r.err().indexOf("layer 2/4 ")).as(r.err()).isLessThan(r.err().indexOf("layer 1/4 "));
        assertChecksEqual(source, target);
    }

    /** umoci 0.4.7's insert writes "/" for the root and no padding or end-of-archive blocks after the last file. */
    @Test
    void umociInsertLayerConvertsAndChecks() throws Exception {
        Path add = Files.createDirectories(tmp.resolve("add/etc/inserted"));
        Files.writeString(add.resolve("hello"), "hello from umoci insert\n");
        Files.write(tmp.resolve("add/last-file"), new byte[]{1, 2, 3, 4, 5});
        OciTools.run(OciTools.UMOCI.toString(), "insert", "--image", image.layout() + ":latest",
                tmp.resolve("add").toString(), "/");
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":nydus";
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target,
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertChecksEqual(source, target);
    }

    @Test
    void dockerArchiveSourceConvertsAndChecks() throws Exception {
        Path archive = tmp.resolve("image.tar");
        OciTools.run(OciTools.SKOPEO.toString(), "copy", "--quiet", image.ociRef(),
                "docker-archive:" + archive + ":app:v1");
        String target = "oci:" + tmp.resolve("out") + ":from-archive";
        Nydusify.Result r = Nydusify.run("convert", "--source", "docker-archive:" + archive, "--target", target,
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        JsonNode manifest = JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--raw", target));
        assertThat(manifest.path("mediaType").asText()).as("OCI layouts get OCI media types")
                .isEqualTo(MediaTypes.OCI_MANIFEST);
        assertChecksEqual("docker-archive:" + archive, target);
    }

    @Test
    void ociArchiveSourceToOciArchiveTargetConvertsAndChecks() throws Exception {
        Path in = tmp.resolve("in.tar");
        OciTools.run(OciTools.SKOPEO.toString(), "copy", "--quiet", image.ociRef(), "oci-archive:" + in + ":app:v1");
        Path out = tmp.resolve("out.tar");
        Nydusify.Result r = Nydusify.run("convert", "--source", "example.com/app:v1", "--source-archive",
                in.toString(), "--target", "example.com/app:v1-nydus", "--target-archive", out.toString(),
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(out).isNotEmptyFile();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no scratch dir or temp tar left next to it")
                    .noneMatch(n -> n.startsWith(".nydusify"));
        }
        // skopeo reads the archive we wrote, by the tag of --target
        JsonNode m = JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--raw",
                "oci-archive:" + out + ":v1-nydus"));
        JsonNode layers = m.path("layers");
        assertThat(layers.get(0).path("mediaType").asText()).isEqualTo(MediaTypes.NYDUS_BLOB);
        assertThat(layers.get(layers.size() - 1).path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())
                .isEqualTo("true");
        assertChecksEqual("oci-archive:" + in + ":app:v1", "oci-archive:" + out + ":v1-nydus");

        Nydusify.Result noDir = Nydusify.run("convert", "--source", "app:v1", "--source-archive", in.toString(),
                "--target-archive", tmp.resolve("no/such/dir/x.tar").toString(), "--work-dir",
                tmp.resolve("work").toString());
        assertThat(noDir.exitCode()).isEqualTo(1);
        assertThat(noDir.err()).contains("no/such/dir").contains("does not exist");
        Nydusify.Result notTar = Nydusify.run("convert", "--source", "app:v1", "--source-archive",
                tmp.resolve("src/latest/index.json").toString().replace("latest/index.json", "nothing.tar"),
                "--target-archive", tmp.resolve("y.tar").toString(), "--work-dir", tmp.resolve("work").toString());
        assertThat(notTar.exitCode()).isEqualTo(1);
        assertThat(notTar.err()).contains("nothing.tar");
        assertThat(tmp.resolve("y.tar")).as("a failed conversion writes no archive").doesNotExist();
    }

    @Test
    void zstdAndUncompressedLayersConvertAndCheck() throws Exception {
        Path layout = image.layout();
        ObjectNode index = (ObjectNode) JSON.readTree(layout.resolve("index.json").toFile());
        JsonNode desc = index.path("manifests").get(0);
        Path blobs = layout.resolve("blobs/sha256");
        ObjectNode manifest = (ObjectNode) JSON.readTree(blobs.resolve(desc.path("digest").asText().substring(7))
                .toFile());
        int i = 0;
        for (JsonNode l : manifest.path("layers")) {
            byte[] plain;
            try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(
                    blobs.resolve(l.path("digest").asText().substring(7))))) {
                plain = in.readAllBytes();
            }
            boolean zstd = i++ % 2 == 0;
            byte[] stored = plain;
            if (zstd) {
                var bytes = new java.io.ByteArrayOutputStream();
                try (var out = new ZstdCompressorOutputStream(bytes)) {
                    out.write(plain);
                }
                stored = bytes.toByteArray();
            }
            String digest = Manifest.sha256(stored);
            Files.write(blobs.resolve(digest.substring(7)), stored);
            ((ObjectNode) l).put("mediaType", zstd ? MediaTypes.OCI_LAYER_ZSTD : MediaTypes.OCI_LAYER)
                    .put("digest", digest).put("size", stored.length);
        }
        byte[] m = JSON.writeValueAsBytes(manifest);
        String digest = Manifest.sha256(m);
        Files.write(blobs.resolve(digest.substring(7)), m);
        ObjectNode entry = ((ArrayNode) index.path("manifests")).addObject();
        entry.put("mediaType", MediaTypes.OCI_MANIFEST).put("digest", digest).put("size", m.length);
        entry.putObject("annotations").put(MediaTypes.ANNOTATION_REF_NAME, "zstd");
        Files.write(layout.resolve("index.json"), JSON.writeValueAsBytes(index));

        String source = "oci:" + layout + ":zstd";
        String target = "oci:" + tmp.resolve("out") + ":zstd-nydus";
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target,
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertChecksEqual(source, target);
    }

    @Test
    void checkMountsWithTheNydusdBinary() throws Exception {
        // a separate nydusd process (our daemon in a new JVM, launched by a script as bin/nydusd would be): runs
        // in CI, where the CLI jar is packaged only after this module
        assumeThat(Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount")))
                .as("FUSE (/dev/fuse, fusermount) is needed").isTrue();
        Path nydusd = TestNydusd.launcher(Files.createDirectories(tmp.resolve("nydusd-bin")));
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":nydusd";
        assertThat(Nydusify.run("convert", "--source", source, "--target", target, "--work-dir",
                tmp.resolve("work").toString()).exitCode()).isZero();
        Nydusify.Result c = Nydusify.run("check", "--nydusd", nydusd.toString(), "--source", source, "--target",
                target, "--work-dir", tmp.resolve("check").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("through " + nydusd + " mounted").contains("0 difference(s)");
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(tmp.resolve("check").toString());
    }

    @Test
    void upstreamFlagsWithoutAnImplementationAreAcceptedOrRefusedClearly() throws Exception {
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":cached";
        // the build cache only saves work upstream: the conversion is the same without it, and says so
        Nydusify.Result cached = Nydusify.run("convert", "--source", source, "--target", target, "--build-cache",
                "localhost:5000/cache:v1", "--build-cache-version", "v1", "--build-cache-max-records", "10",
                "--work-dir", tmp.resolve("w").toString());
        assertThat(cached.exitCode()).as(cached.toString()).isZero();
        assertThat(cached.err()).contains("the build cache (--build-cache localhost:5000/cache:v1) is not supported");
        assertChecksEqual(source, target);

        Nydusify.Result both = Nydusify.run("convert", "--source", source, "--target", target, "--build-cache", "a/b:c",
                "--build-cache-tag", "c");
        assertThat(both.exitCode()).isEqualTo(1);
        assertThat(both.err()).contains("mutually exclusive");
        Nydusify.Result reverse = Nydusify.run("convert", "--source", source, "--target", target, "--reverse");
        assertThat(reverse.exitCode()).isEqualTo(1);
        assertThat(reverse.err()).contains("--reverse").contains("not supported").doesNotContain("Usage:");
        Nydusify.Result model = Nydusify.run("convert", "--source", source, "--target", target,
                "--source-backend-type", "modelfile");
        assertThat(model.exitCode()).isEqualTo(1);
        assertThat(model.err()).contains("not supported").doesNotContain("Usage:");
    }

    @Test
    void prefetchPatternsFromStdinAreAccepted() throws Exception {
        Nydusify.Result r = Nydusify.runWithStdin("/bin\n/etc/motd\n", "convert", "--source",
                "oci:" + image.layout() + ":latest", "--target", "oci:" + tmp.resolve("out") + ":pf",
                "--prefetch-patterns", "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        Nydusify.Result c = Nydusify.run("check", "--target", "oci:" + tmp.resolve("out") + ":pf",
                "--work-dir", tmp.resolve("check").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
    }

    @Test
    void dockerArchiveIsReadOnlyAndBadFlagsAreRejected() {
        Nydusify.Result v7 = Nydusify.run("convert", "--source", "oci:" + image.layout() + ":latest", "--target",
                "oci:" + tmp.resolve("o") + ":x", "--fs-version", "7");
        assertThat(v7.exitCode()).isEqualTo(1);
        assertThat(v7.err()).contains("invalid --fs-version 7");
        Nydusify.Result both = Nydusify.run("convert", "--source", "a/b:c", "--target", "a/b:d",
                "--target-suffix", "-x");
        assertThat(both.exitCode()).isEqualTo(1);
        assertThat(both.err()).contains("exactly one of --target and --target-suffix");
        Nydusify.Result missing = Nydusify.run("convert", "--target", "a/b:d");
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("--source");
        Nydusify.Result chunk = Nydusify.run("convert", "--source", "a/b:c", "--target", "a/b:d",
                "--chunk-size", "12345");
        assertThat(chunk.exitCode()).isEqualTo(1);
        assertThat(chunk.err()).contains("power of two");
        Nydusify.Result archiveTarget = Nydusify.run("convert", "--source", "oci:" + image.layout() + ":latest",
                "--target", "docker-archive:" + tmp.resolve("x.tar"), "--work-dir", tmp.resolve("w").toString());
        assertThat(archiveTarget.exitCode()).isEqualTo(1);
        assertThat(archiveTarget.err()).contains("docker-archive").contains("cannot be a target")
                .contains("oci-archive:FILE");
        Nydusify.Result noImage = Nydusify.run("convert", "--source", "oci:" + tmp.resolve("nothing") + ":x",
                "--target", "oci:" + tmp.resolve("o2") + ":x", "--work-dir", tmp.resolve("w").toString());
        assertThat(noImage.exitCode()).isEqualTo(1);
        assertThat(noImage.err()).contains("not an OCI image layout");
    }
}
