package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.testkit.oci.OciTools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * End to end against a real docker-registry: images built with umoci from busybox-static plus generated layers
 * (whiteouts, an opaque dir, hard links, xattrs, a FIFO, a device, a 5 MB file), pushed with skopeo in OCI and
 * Docker v2 form and as a two-platform index; converted with {@code nydusify convert}, inspected with
 * {@code skopeo inspect --raw}, and verified with {@code nydusify check} against the source.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConvertRegistryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 20261128L;

    @TempDir
    static Path tmp;
    private LocalRegistry registry;
    private String host;
    private LayeredImage amd;

    @BeforeAll
    void startRegistryAndPushImages() throws Exception {
        assumeThat(LocalRegistry.available() && OciTools.available())
                .as("docker-registry, umoci, skopeo and busybox-static are needed (apt-get install docker-registry"
                        + " umoci skopeo busybox-static); skipping").isTrue();
        registry = LocalRegistry.start(tmp.resolve("registry"));
        host = registry.host();
        Path images = Files.createDirectories(tmp.resolve("images"));
        amd = TestImages.rich(images, "amd", "amd64", SEED);
        LayeredImage arm = TestImages.rich(images, "arm", "arm64", SEED + 1);
        OciTools.push(amd.ociRef(), "docker://" + host + "/app:oci");
        OciTools.push(amd.ociRef(), "docker://" + host + "/app:docker", "--format", "v2s2");
        writeIndex(amd.layout(), "multi", List.of("amd", "arm"), List.of("amd64", "arm64"));
        OciTools.push("oci:" + amd.layout() + ":multi", "docker://" + host + "/app:multi", "--all");
        LayeredImage copy = TestImages.sharingBigFile(images, "copy", SEED);
        OciTools.push(copy.ociRef(), "docker://" + host + "/copy:latest");
    }

    @AfterAll
    void stopRegistry() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void ociImageConvertsWithNydusMediaTypesAndChecksEqualToSource() throws Exception {
        convertOk(host + "/app:oci", host + "/app:oci-nydus");
        String sourceRaw = OciTools.inspectRaw("docker://" + host + "/app:oci");
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:oci-nydus"));
        assertThat(m.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_MANIFEST);
        JsonNode layers = m.path("layers");
        assertThat(JSON.readTree(sourceRaw).path("layers").size()).isEqualTo(4);
        assertThat(layers.size()).as("3 blob layers (the metadata-only layer needs none) + bootstrap").isEqualTo(4);
        for (int i = 0; i < 3; i++) {
            assertThat(layers.get(i).path("mediaType").asText()).isEqualTo(MediaTypes.NYDUS_BLOB);
            assertThat(layers.get(i).path("annotations").path(MediaTypes.ANNOTATION_BLOB).asText()).isEqualTo("true");
            assertThat(layers.get(i).path("annotations").has("containerd.io/uncompressed")).isFalse();
        }
        JsonNode boot = layers.get(3);
        assertThat(boot.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_LAYER_GZIP);
        assertThat(boot.path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP).asText()).isEqualTo("true");
        assertThat(boot.path("annotations").path(MediaTypes.ANNOTATION_FS_VERSION).asText()).isEqualTo("6");
        JsonNode ann = m.path("annotations");
        assertThat(ann.path(MediaTypes.ANNOTATION_SOURCE_DIGEST).asText()).isEqualTo(sha256(sourceRaw));
        assertThat(ann.path(MediaTypes.ANNOTATION_SOURCE_REFERENCE).asText()).isEqualTo(host + "/app:oci");
        assertThat(ann.path(MediaTypes.ANNOTATION_FS_VERSION).asText()).isEqualTo("6");
        assertThat(ann.path(MediaTypes.ANNOTATION_BUILDER_VERSION).asText()).startsWith("nydus4j ");

        JsonNode config = JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--tls-verify=false",
                "--config", "--raw", "docker://" + host + "/app:oci-nydus"));
        JsonNode diffIds = config.path("rootfs").path("diff_ids");
        assertThat(diffIds.size()).isEqualTo(4);
        for (int i = 0; i < 3; i++) {
            assertThat(diffIds.get(i).asText()).isEqualTo(layers.get(i).path("digest").asText());
        }
        JsonNode history = config.path("history");
        assertThat(history.get(history.size() - 1).path("created_by").asText()).isEqualTo("Nydus Converter");
        assertThat(history.get(history.size() - 1).path("comment").asText()).isEqualTo("Nydus Bootstrap Layer");
        assertThat(config.path("config").path("Cmd").get(0).asText()).isEqualTo("/bin/sh");

        Nydusify.Result check = check("--source", host + "/app:oci", "--target", host + "/app:oci-nydus");
        assertThat(check.out()).contains("0 difference(s)").contains("verified");
        assertThat(Files.readString(tmp.resolve("check/nydus_manifest.json"))).contains(MediaTypes.NYDUS_BLOB);
        assertThat(tmp.resolve("check/nydus_bootstrap")).isNotEmptyFile();
        assertThat(tmp.resolve("check/oci_config.json")).isNotEmptyFile();
    }

    @Test
    void convertedImageMountedWithTheInProcessDaemonEqualsTheSource() throws Exception {
        assumeThat(Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount")))
                .as("FUSE (/dev/fuse, fusermount) needed for the mount comparison").isTrue();
        convertOk(host + "/app:oci", host + "/app:mount-nydus");
        Nydusify.Result check = check("--mount", "--source", host + "/app:oci", "--target", host + "/app:mount-nydus");
        assertThat(check.out()).contains("in-process nydusd mounted").contains("with the registry backend").contains("0 difference(s)");
    }

    /** The seed's `nydusify convert --source … --target localhost:5000/…`: a plain-http registry needs no flag. */
    @Test
    void plainHttpRegistryNeedsNoInsecureFlagAsInTheSeedGuide() throws Exception {
        String local = host.replace("127.0.0.1", "localhost");
        Nydusify.Result r = Nydusify.run("convert", "--source", local + "/app:oci", "--target", local + "/app:seed",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        boolean fuse = Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount"));
        List<String> args = new ArrayList<>(List.of("check", "--source", local + "/app:oci", "--target",
                local + "/app:seed", "--work-dir", tmp.resolve("check").toString()));
        if (fuse) {
            args.add("--mount"); // the daemon's registry backend must talk http too
        }
        Nydusify.Result c = Nydusify.run(args.toArray(String[]::new));
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("0 difference(s)").contains("OK:");
    }

    @Test
    void mountServesTheImageLazilyFromTheRegistry() throws Exception {
        assumeThat(Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount")))
                .as("FUSE (/dev/fuse, fusermount) needed").isTrue();
        convertOk(host + "/app:oci", host + "/app:view");
        Path mp = tmp.resolve("view-mnt");
        try (Mounter m = Mounter.mount(ImageLocation.parse(host + "/app:view"), true, false, Platform.host(), null,
                null, mp, tmp.resolve("view-work"))) {
            assertThat(Files.readString(m.mountpoint().resolve("etc/motd"))).isEqualTo("hello from amd\n");
            assertThat(Files.size(m.mountpoint().resolve("srv/big"))).isEqualTo(TestImages.BIG_BYTES);
            assertThat(Files.exists(m.mountpoint().resolve("data/a"))).as("whited out").isFalse();
            assertThat(Files.isSymbolicLink(m.mountpoint().resolve("bin/sh"))).isTrue();
            assertThat(tmp.resolve("view-work/image.boot")).exists();
        }
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).noneMatch(l -> l.contains(mp.toString()));
        // the work dir it created is removed again (upstream's --work-dir rule)
        assertThat(tmp.resolve("view-work")).doesNotExist();

        // a work dir that existed before is kept, with only what the mount put there removed
        Path own = Files.createDirectories(tmp.resolve("own-work"));
        Files.writeString(own.resolve("mine.txt"), "keep me");
        try (Mounter m = Mounter.mount(ImageLocation.parse(host + "/app:view"), true, false, Platform.host(), null,
                null, mp, own)) {
            assertThat(Files.readString(m.mountpoint().resolve("etc/motd"))).isEqualTo("hello from amd\n");
        }
        try (var files = Files.list(own)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("mine.txt");
        }
        // a failed mount (not a nydus image) leaves nothing behind either
        Path failed = tmp.resolve("failed-work");
        assertThatThrownBy(() -> Mounter.mount(ImageLocation.parse(host + "/app:oci"), true, false, Platform.host(),
                null, null, mp, failed)).hasMessageContaining("is not a nydus image");
        assertThat(failed).doesNotExist();
    }

    @Test
    void dockerImageKeepsDockerMediaTypesUnlessOciIsForced() throws Exception {
        convertOk(host + "/app:docker", host + "/app:docker-nydus");
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:docker-nydus"));
        assertThat(m.path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
        assertThat(m.path("config").path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_CONFIG);
        JsonNode layers = m.path("layers");
        assertThat(layers.get(layers.size() - 1).path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_LAYER_GZIP);
        assertThat(layers.get(0).path("mediaType").asText()).isEqualTo(MediaTypes.NYDUS_BLOB);
        check("--source", host + "/app:docker", "--target", host + "/app:docker-nydus");

        convertOk(host + "/app:docker", host + "/app:docker-oci-nydus", "--oci");
        JsonNode o = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:docker-oci-nydus"));
        assertThat(o.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(o.path("config").path("mediaType").asText()).isEqualTo(MediaTypes.OCI_CONFIG);
        JsonNode ol = o.path("layers");
        assertThat(ol.get(ol.size() - 1).path("mediaType").asText()).isEqualTo(MediaTypes.OCI_LAYER_GZIP);
    }

    /** The upper layer is rebuilt on a parent bootstrap of the lower one, in the image's own RAFS version. */
    @ParameterizedTest
    @ValueSource(strings = {"6", "5"})
    void hardLinkToALowerLayerFileConvertsAndChecks(String fsVersion) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("crosslink" + fsVersion));
        LayeredImage img = LayeredImage.create(dir, "x");
        img.layer(root -> Files.writeString(root.resolve("lower-file"), "shared bytes"));
        Path tar = dir.resolve("link.tar");
        try (var t = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(Files.newOutputStream(tar))) {
            var link = new org.apache.commons.compress.archivers.tar.TarArchiveEntry("upper-link",
                    org.apache.commons.compress.archivers.tar.TarArchiveEntry.LF_LINK);
            link.setLinkName("lower-file");
            t.putArchiveEntry(link);
            t.closeArchiveEntry();
        }
        img.rawLayer(tar).config("amd64");
        String repo = host + "/crosslink" + fsVersion;
        OciTools.push(img.ociRef(), "docker://" + repo + ":latest");
        Nydusify.Result r = Nydusify.run("convert", "--source", repo + ":latest", "--target", repo + ":nydus",
                "--source-insecure", "--target-insecure", "--fs-version", fsVersion,
                "--work-dir", tmp.resolve("work" + fsVersion).toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        check("--source", repo + ":latest", "--target", repo + ":nydus");
    }

    @Test
    void convertingTheSameImageTwicePushesNoNewBytes() throws Exception {
        Path first = tmp.resolve("first.json");
        Path second = tmp.resolve("second.json");
        convertOk(host + "/app:oci", host + "/app:twice", "--output-json", first.toString());
        convertOk(host + "/app:oci", host + "/app:twice", "--output-json", second.toString());
        JsonNode a = JSON.readTree(first.toFile());
        JsonNode b = JSON.readTree(second.toFile());
        assertThat(a.path("blobs_pushed").asLong() + a.path("blobs_skipped").asLong()).as("%s", a)
                .isGreaterThanOrEqualTo(5);
        assertThat(b.path("blobs_skipped").asLong()).isEqualTo(a.path("blobs_pushed").asLong()
                + a.path("blobs_skipped").asLong());
        assertThat(b.path("pushed_bytes").asLong()).as("second run: %s", b).isZero();
        assertThat(b.path("blobs_pushed").asLong()).isZero();
        assertThat(b.path("target_digest").asText()).as("same manifest").isEqualTo(a.path("target_digest").asText());
        // upstream nydusify's fields: image sizes = config + layers of the source and of the pushed manifest
        JsonNode src = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:oci"));
        JsonNode dst = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:twice"));
        assertThat(a.path("SourceImageSize").asLong()).isEqualTo(imageSize(src));
        assertThat(a.path("TargetImageSize").asLong()).isEqualTo(imageSize(dst));
        assertThat(b.path("TargetImageSize").asLong()).isEqualTo(imageSize(dst));
        for (String k : List.of("SourcePullElapsed", "ConversionElapsed", "TargetPushElapsed")) {
            assertThat(a.path(k).isIntegralNumber()).as(k).isTrue();
            assertThat(a.path(k).asLong()).as(k).isPositive();
        }
        assertThat(a.path("ConversionElapsed").asLong() / 1_000_000).isLessThanOrEqualTo(a.path("total_ms").asLong());
    }

    private static long imageSize(JsonNode manifest) {
        long size = manifest.path("config").path("size").asLong();
        for (JsonNode l : manifest.path("layers")) {
            size += l.path("size").asLong();
        }
        return size;
    }

    @Test
    void allPlatformsGivesAnIndexOfNydusManifestsAndEachPlatformChecks() throws Exception {
        convertOk(host + "/app:multi", host + "/app:multi-nydus", "--all-platforms");
        JsonNode idx = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:multi-nydus"));
        assertThat(idx.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_INDEX);
        assertThat(idx.path("manifests").size()).isEqualTo(2);
        List<String> archs = new ArrayList<>();
        for (JsonNode d : idx.path("manifests")) {
            archs.add(d.path("platform").path("architecture").asText());
            JsonNode child = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app@" + d.path("digest").asText()));
            JsonNode layers = child.path("layers");
            assertThat(layers.get(layers.size() - 1).path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP)
                    .asText()).isEqualTo("true");
        }
        assertThat(archs).containsExactlyInAnyOrder("amd64", "arm64");
        check("--source", host + "/app:multi", "--target", host + "/app:multi-nydus", "--platform", "linux/arm64");
        check("--source", host + "/app:multi", "--target", host + "/app:multi-nydus", "--platform", "linux/amd64");

        convertOk(host + "/app:multi", host + "/app:arm-nydus", "--platform", "linux/arm64");
        JsonNode single = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:arm-nydus"));
        assertThat(single.path("mediaType").asText()).as("one platform: collapsed to a manifest")
                .isEqualTo(MediaTypes.OCI_MANIFEST);
        check("--source", host + "/app:multi", "--target", host + "/app:arm-nydus", "--platform", "linux/arm64");

        Nydusify.Result missing = Nydusify.run("convert", "--source", host + "/app:multi", "--target",
                host + "/app:none", "--platform", "linux/s390x", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("no manifest for platform").contains("linux/arm64");
    }

    @Test
    void mergePlatformPublishesSourceAndNydusManifestsInOneIndex() throws Exception {
        convertOk(host + "/app:multi", host + "/app:merged", "--all-platforms", "--merge-platform");
        JsonNode idx = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:merged"));
        JsonNode entries = idx.path("manifests");
        assertThat(entries.size()).isEqualTo(4);
        int nydus = 0;
        for (JsonNode d : entries) {
            if (MediaTypes.NYDUS_MANIFEST_ARTIFACT.equals(d.path("artifactType").asText())) {
                nydus++;
                JsonNode child = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app@"
                        + d.path("digest").asText()));
                assertThat(child.path("config").path("mediaType").asText()).isEqualTo(MediaTypes.NYDUS_CONFIG);
            }
        }
        assertThat(nydus).isEqualTo(2);
        check("--multi-platform", "--source", host + "/app:multi", "--target", host + "/app:merged",
                "--platform", "linux/amd64");
        // the source manifests in the merged index are pullable from the target repository
        OciTools.run(OciTools.SKOPEO.toString(), "copy", "--quiet", "--src-tls-verify=false", "--override-arch",
                "arm64", "docker://" + host + "/app:merged", "oci:" + tmp.resolve("pulled") + ":x");
    }

    @Test
    void chunkDictPushesOnlyNewChunks() throws Exception {
        convertOk(host + "/app:oci", host + "/app:dict");
        Path plain = tmp.resolve("plain.json");
        Path withDict = tmp.resolve("dict.json");
        convertOk(host + "/copy:latest", host + "/copy:plain-nydus", "--output-json", plain.toString());
        convertOk(host + "/copy:latest", host + "/copy:dict-nydus", "--output-json",
                withDict.toString(), "--chunk-dict", "bootstrap:registry:" + host + "/app:dict");
        long without = JSON.readTree(plain.toFile()).path("pushed_bytes").asLong();
        long with = JSON.readTree(withDict.toFile()).path("pushed_bytes").asLong();
        assertThat(without).isGreaterThan(TestImages.BIG_BYTES);
        assertThat(with).as("the 5 MB file is all in the dict: only metadata and small files are pushed")
                .isLessThan(TestImages.BIG_BYTES / 10);
        assertThat(JSON.readTree(withDict.toFile()).path("blobs_mounted").asLong())
                .as("the dict blob is mounted from the dict's repository, not uploaded").isPositive();
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/copy:dict-nydus"));
        assertThat(m.path("layers").size()).as("own blob + dict blob + bootstrap: %s", m).isGreaterThanOrEqualTo(3);
        check("--source", host + "/copy:latest", "--target", host + "/copy:dict-nydus");
    }

    @Test
    void targetSuffixAndLocalfsBackend() throws Exception {
        Path blobs = tmp.resolve("localfs");
        convertOk(host + "/app:oci", null, "--target-suffix", "-lfs", "--backend-type", "localfs",
                "--backend-config", "{\"dir\":\"" + blobs + "\"}");
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:oci-lfs"));
        assertThat(m.path("layers").size()).as("only the bootstrap layer").isEqualTo(1);
        try (var s = Files.list(blobs)) {
            assertThat(s.count()).isEqualTo(3);
        }
        check("--source", host + "/app:oci", "--target", host + "/app:oci-lfs", "--backend-type", "localfs",
                "--backend-config", "{\"dir\":\"" + blobs + "\"}");
        // without the backend the check says where the blobs are and what to pass
        Nydusify.Result noBackend = Nydusify.run("check", "--target-insecure", "--work-dir",
                tmp.resolve("check-nb").toString(), "--target", host + "/app:oci-lfs");
        assertThat(noBackend.exitCode()).isEqualTo(1);
        assertThat(noBackend.out() + noBackend.err()).contains("only the bootstrap layer")
                .contains("--target-backend-type");
        Nydusify.Result oss = Nydusify.run("convert", "--source", host + "/app:oci", "--target", host + "/app:oss",
                "--backend-type", "oss", "--backend-config", "{}", "--source-insecure", "--target-insecure");
        assertThat(oss.exitCode()).isEqualTo(1);
        assertThat(oss.err()).as("an oss config without bucket/endpoint is rejected before anything is pushed")
                .contains("oss backend config is invalid");
        assertNoManifest(host + "/app:oss");
    }

    @Test
    void withReferrerSetsTheSourceManifestAsSubject() throws Exception {
        convertOk(host + "/app:docker", host + "/app:docker-referrer", "--with-referrer");
        String sourceRaw = OciTools.inspectRaw("docker://" + host + "/app:docker");
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:docker-referrer"));
        assertThat(m.path("mediaType").asText()).as("a subject needs an OCI manifest").isEqualTo(MediaTypes.OCI_MANIFEST);
        JsonNode subject = m.path("subject");
        assertThat(subject.path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
        assertThat(subject.path("digest").asText()).isEqualTo(sha256(sourceRaw));
        assertThat(subject.path("size").asLong()).isEqualTo(sourceRaw.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        assertThat(subject.has("platform")).isFalse();
        Nydusify.Result c = check("--source", host + "/app:docker", "--target", host + "/app:docker-referrer");
        assertThat(c.out()).contains("0 difference(s)");

        Nydusify.Result ociRef = Nydusify.run("convert", "--source", host + "/app:oci", "--target",
                host + "/app:oci-ref", "--oci-ref", "--source-insecure", "--target-insecure");
        assertThat(ociRef.exitCode()).isEqualTo(1);
        assertThat(ociRef.err()).contains("--oci-ref").contains("zran");
        assertNoManifest(host + "/app:oci-ref");
    }

    @Test
    void missingImageFailsClearlyAndPushesNothing() throws Exception {
        Nydusify.Result r = Nydusify.run("convert", "--source", host + "/app:no-such-tag", "--target",
                host + "/app:never", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).contains("app:no-such-tag").contains("not found");
        assertNoManifest(host + "/app:never");
    }

    @Test
    void corruptLayerFailsWithDigestMismatchAndLeavesNoManifest() throws Exception {
        LayeredImage img = TestImages.sharingBigFile(Files.createDirectories(tmp.resolve("corrupt")), "bad", SEED + 7);
        OciTools.push(img.ociRef(), "docker://" + host + "/corrupt:latest");
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/corrupt:latest"));
        String layer = m.path("layers").get(0).path("digest").asText();
        Path data = registry.blobData(layer);
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(data, bytes);
        Nydusify.Result r = Nydusify.run("convert", "--source", host + "/corrupt:latest", "--target",
                host + "/corrupt:nydus", "--source-insecure", "--target-insecure", "--push-retry-count", "0",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).contains(layer).containsAnyOf("digest mismatch", "cannot convert");
        assertNoManifest(host + "/corrupt:nydus");
    }

    @Test
    void hostileTarEntriesAreRejected() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("hostile"));
        Path tar = TestImages.tar(dir.resolve("evil.tar"), "ok", "fine", "../../etc/evil", "pwned");
        OciTools.push(TestImages.rawOnly(dir, "evil", tar).ociRef(), "docker://" + host + "/hostile:latest");
        Nydusify.Result r = Nydusify.run("convert", "--source", host + "/hostile:latest", "--target",
                host + "/hostile:nydus", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).contains("layer 1/1").contains("etc/evil");
        assertNoManifest(host + "/hostile:nydus");
    }

    @Test
    void checkReportsADamagedNydusImage() throws Exception {
        convertOk(host + "/app:oci", host + "/app:damaged");
        // point the tag at a manifest whose config claims a different Cmd than the source
        JsonNode m = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/app:damaged"));
        ObjectNode config = (ObjectNode) JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect",
                "--tls-verify=false", "--config", "--raw", "docker://" + host + "/app:damaged"));
        ((ObjectNode) config.path("config")).putArray("Cmd").add("/bin/false");
        ((ArrayNode) config.path("rootfs").path("diff_ids")).remove(0);
        byte[] cfg = JSON.writeValueAsBytes(config);
        Path layout = tmp.resolve("damaged");
        try (OciLayoutStore store = OciLayoutStore.open(layout, "x", true);
             RegistryStore reg = RegistryStore.open(dev.nydus4j.backend.registry.ImageReference.parse(
                     host + "/app:damaged"), true, false, 0, java.time.Duration.ZERO)) {
            reg.pushBlob(Manifest.sha256(cfg), cfg);
            ObjectNode nm = (ObjectNode) m.deepCopy();
            ((ObjectNode) nm.path("config")).put("digest", Manifest.sha256(cfg)).put("size", cfg.length);
            reg.pushManifest("damaged", Manifest.of(nm, MediaTypes.OCI_MANIFEST));
            assertThat(store.describe()).contains("damaged");
        }
        Nydusify.Result r = Nydusify.run("check", "--source", host + "/app:oci", "--target", host + "/app:damaged",
                "--source-insecure", "--target-insecure", "--work-dir", tmp.resolve("check-bad").toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("FAILED").contains("diff_ids").contains("config.config differs");
    }

    /**
     * Upstream smoke image test: convert, check, then {@code nydusify copy --source <nydus> --target <nydus>_copied}
     * and check the copy against the source. The copy keeps the manifest digest; within one registry the blobs are
     * mounted, into an OCI layout they are transferred and verified; an index keeps only the selected platforms.
     */
    @Test
    void copyKeepsTheManifestDigestAndTheCopyChecks() throws Exception {
        convertOk(host + "/app:oci", host + "/app:copy-nydus");
        String digest = sha256(OciTools.inspectRaw("docker://" + host + "/app:copy-nydus"));
        Path work = tmp.resolve("copy-work");
        Nydusify.Result same = Nydusify.run("--log-level", "warn", "copy", "--source", host + "/app:copy-nydus",
                "--target", host + "/copied/app:copy-nydus_copied", "--nydus-image", "nydus-image", "--work-dir",
                work.toString());
        assertThat(same.exitCode()).as(same.toString()).isZero();
        assertThat(same.out()).contains(digest).contains("0 blobs pushed").contains("5 mounted"); // config, 3 nydus blobs, bootstrap layer
        assertThat(work).as("a work dir the copy created is removed").doesNotExist();
        assertThat(sha256(OciTools.inspectRaw("docker://" + host + "/copied/app:copy-nydus_copied"))).isEqualTo(digest);
        check("--source", host + "/app:oci", "--target", host + "/copied/app:copy-nydus_copied");

        Path layout = tmp.resolve("copied-layout");
        Nydusify.Result toLayout = Nydusify.run("copy", "--source", host + "/app:copy-nydus", "--target",
                "oci:" + layout + ":v1", "--work-dir", work.toString());
        assertThat(toLayout.exitCode()).as(toLayout.toString()).isZero();
        assertThat(toLayout.out()).contains("5 blobs pushed");
        check("--source", host + "/app:oci", "--target", "oci:" + layout + ":v1");

        Nydusify.Result arm = Nydusify.run("copy", "--source", host + "/app:multi", "--target",
                host + "/copied/multi:arm", "--platform", "linux/arm64", "--work-dir", work.toString());
        assertThat(arm.exitCode()).as(arm.toString()).isZero();
        JsonNode idx = JSON.readTree(OciTools.inspectRaw("docker://" + host + "/copied/multi:arm"));
        assertThat(idx.path("manifests").size()).isEqualTo(1);
        assertThat(idx.path("manifests").get(0).path("platform").path("architecture").asText()).isEqualTo("arm64");

        Nydusify.Result missing = Nydusify.run("copy", "--source", host + "/app:no-such-tag", "--target",
                host + "/copied/app:none", "--work-dir", work.toString());
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("app:no-such-tag").contains("image not found");
        assertNoManifest(host + "/copied/app:none");
    }

    private Nydusify.Result convertOk(String source, String target, String... extra) {
        List<String> args = new ArrayList<>(List.of("convert", "--source", source, "--source-insecure",
                "--target-insecure", "--work-dir", tmp.resolve("work").toString()));
        if (target != null) {
            args.add("--target");
            args.add(target);
        }
        args.addAll(List.of(extra));
        Nydusify.Result r = Nydusify.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.err()).contains("[nydusify]");
        return r;
    }

    private Nydusify.Result check(String... extra) {
        List<String> args = new ArrayList<>(List.of("check", "--source-insecure", "--target-insecure",
                "--work-dir", tmp.resolve("check").toString()));
        args.addAll(List.of(extra));
        Nydusify.Result r = Nydusify.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("OK:");
        return r;
    }

    private static void assertNoManifest(String ref) throws InterruptedException {
        try {
            OciTools.inspectRaw("docker://" + ref);
            throw new AssertionError("a manifest was pushed to " + ref);
        } catch (IOException expected) {
            assertThat(expected.getMessage()).containsIgnoringCase("manifest unknown");
        }
    }

    private static String sha256(String s) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** Adds an OCI index over {@code tags} of the layout under {@code indexTag} (skopeo copies it with --all). */
    static void writeIndex(Path layout, String indexTag, List<String> tags, List<String> archs) throws IOException {
        ObjectNode index = (ObjectNode) JSON.readTree(layout.resolve("index.json").toFile());
        ObjectNode multi = JSON.createObjectNode();
        multi.put("schemaVersion", 2);
        multi.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode manifests = multi.putArray("manifests");
        for (int i = 0; i < tags.size(); i++) {
            for (JsonNode d : index.path("manifests")) {
                if (tags.get(i).equals(d.path("annotations").path(MediaTypes.ANNOTATION_REF_NAME).asText())) {
                    ObjectNode e = manifests.addObject();
                    e.put("mediaType", MediaTypes.OCI_MANIFEST);
                    e.put("digest", d.path("digest").asText());
                    e.put("size", d.path("size").asLong());
                    e.putObject("platform").put("architecture", archs.get(i)).put("os", "linux");
                }
            }
        }
        byte[] bytes = JSON.writeValueAsBytes(multi);
        String digest = Manifest.sha256(bytes);
        Files.write(layout.resolve("blobs/sha256").resolve(digest.substring(7)), bytes);
        ObjectNode entry = ((ArrayNode) index.path("manifests")).addObject();
        entry.put("mediaType", MediaTypes.OCI_INDEX);
        entry.put("digest", digest);
        entry.put("size", bytes.length);
        entry.putObject("annotations").put(MediaTypes.ANNOTATION_REF_NAME, indexTag);
        Files.write(layout.resolve("index.json"), JSON.writeValueAsBytes(index));
    }
}
