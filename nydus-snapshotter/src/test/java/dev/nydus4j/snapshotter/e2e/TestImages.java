package dev.nydus4j.snapshotter.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Test images, pushed to the local registry: a busybox image and a pause image built with umoci from
 * busybox-static, and a Nydus image of the same rootfs written as an OCI layout by hand (RAFS.md 10): one data blob
 * layer ({@code nydus.blob.v1}, {@code nydus-blob=true}) and a tar.gz bootstrap layer holding {@code image/image.boot}.
 */
final class TestImages {
    static final String NYDUS_BLOB_MEDIA_TYPE = "application/vnd.oci.image.layer.nydus.blob.v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TOOL_TIMEOUT = Duration.ofMinutes(2);

    /** The digest of the Nydus image's data blob layer. */
    String nydusBlobDigest;
    /** Its size in bytes. */
    long nydusBlobSize;
    /** The digest of its bootstrap layer (tar.gz). */
    String nydusBootstrapDigest;

    /** Writes the busybox rootfs: all applets, /etc/hello.txt, /etc/os-release, /etc/passwd. */
    static Path rootfs(Path dir) throws IOException, InterruptedException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
        Processes.run(TOOL_TIMEOUT, bin.resolve("busybox").toString(), "--install", "-s", bin.toString());
        // --install links to the absolute host path; inside the rootfs it must be /bin/busybox
        try (var links = Files.list(bin)) {
            for (Path l : links.toList()) {
                if (Files.isSymbolicLink(l)) {
                    Files.delete(l);
                    Files.createSymbolicLink(l, Path.of("busybox"));
                }
            }
        }
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("hello.txt"), "hello from nydus4j e2e\n");
        Files.writeString(etc.resolve("os-release"), "NAME=\"nydus4j busybox\"\nID=busybox\n");
        Files.writeString(etc.resolve("passwd"), "root:x:0:0:root:/:/bin/sh\n");
        Files.createDirectories(dir.resolve("tmp"));
        // 8 MiB no container reads: a lazy pull must not fetch it (incompressible, fixed seed)
        byte[] big = new byte[8 << 20];
        new java.util.Random(42).nextBytes(big);
        Files.write(Files.createDirectories(dir.resolve("opt")).resolve("untouched.bin"), big);
        return dir;
    }

    /** Builds busybox and pause with umoci and pushes both; returns the layout dir. */
    static void pushOci(Path work, Path rootfs, String registry) throws IOException, InterruptedException {
        String layout = work.resolve("oci").toString();
        Processes.run(TOOL_TIMEOUT, "umoci", "init", "--layout", layout);
        Processes.run(TOOL_TIMEOUT, "umoci", "new", "--image", layout + ":busybox");
        Processes.run(TOOL_TIMEOUT, "umoci", "insert", "--image", layout + ":busybox", rootfs.toString(), "/");
        Processes.run(TOOL_TIMEOUT, "umoci", "config", "--image", layout + ":busybox", "--config.cmd", "/bin/sh",
                "--config.env", "PATH=/bin", "--os", "linux", "--architecture", "amd64");
        Processes.run(TOOL_TIMEOUT, "umoci", "config", "--image", layout + ":busybox", "--tag", "pause",
                "--config.cmd", "/bin/sh", "--config.cmd", "-c", "--config.cmd",
                "trap 'exit 0' TERM INT; while true; do sleep 1; done");
        for (String tag : List.of("busybox", "pause")) {
            Processes.run(TOOL_TIMEOUT, "skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout + ":" + tag,
                    "docker://" + registry + "/e2e/" + tag + ":latest");
        }
    }

    /** Builds the Nydus image of {@code rootfs} and pushes it as {@code e2e/<name>:latest}. */
    void pushNydus(Path work, Path rootfs, String registry, String name) throws IOException, InterruptedException {
        Path layout = Files.createDirectories(work.resolve("nydus-oci"));
        Path blobs = Files.createDirectories(layout.resolve("blobs/sha256"));
        Path build = Files.createDirectories(work.resolve("nydus-build"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults()).build(rootfs, build.resolve("image.boot"), null, build);
        Path blob = r.blob() != null ? r.blob() : build.resolve(r.newBlobId());
        String blobDigest = "sha256:" + sha256(Files.readAllBytes(blob));
        Files.copy(blob, blobs.resolve(blobDigest.substring(7)));
        nydusBlobDigest = blobDigest;
        nydusBlobSize = Files.size(blob);

        byte[] tar = bootstrapTar(Files.readAllBytes(build.resolve("image.boot")));
        byte[] tgz = gzip(tar);
        String bootDigest = "sha256:" + sha256(tgz);
        String bootDiffId = "sha256:" + sha256(tar);
        Files.write(blobs.resolve(bootDigest.substring(7)), tgz);
        nydusBootstrapDigest = bootDigest;

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        config.put("config", Map.of("Cmd", List.of("/bin/sh"), "Env", List.of("PATH=/bin")));
        config.put("rootfs", Map.of("type", "layers", "diff_ids", List.of(blobDigest, bootDiffId)));
        byte[] configBytes = JSON.writeValueAsBytes(config);
        String configDigest = "sha256:" + sha256(configBytes);
        Files.write(blobs.resolve(configDigest.substring(7)), configBytes);

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        manifest.put("config", Map.of("mediaType", "application/vnd.oci.image.config.v1+json",
                "digest", configDigest, "size", configBytes.length));
        manifest.put("layers", List.of(
                Map.of("mediaType", NYDUS_BLOB_MEDIA_TYPE, "digest", blobDigest, "size", Files.size(blob),
                        "annotations", Map.of("containerd.io/snapshot/nydus-blob", "true",
                                "containerd.io/uncompressed", blobDigest)),
                Map.of("mediaType", "application/vnd.oci.image.layer.v1.tar+gzip", "digest", bootDigest,
                        "size", tgz.length, "annotations", Map.of("containerd.io/snapshot/nydus-bootstrap", "true",
                                "containerd.io/snapshot/nydus-fs-version", "6",
                                "containerd.io/uncompressed", bootDiffId))));
        byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
        String manifestDigest = "sha256:" + sha256(manifestBytes);
        Files.write(blobs.resolve(manifestDigest.substring(7)), manifestBytes);
        Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.write(layout.resolve("index.json"), JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "manifests",
                List.of(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", manifestDigest,
                        "size", manifestBytes.length,
                        "annotations", Map.of("org.opencontainers.image.ref.name", "latest"))))));
        Processes.run(TOOL_TIMEOUT, "skopeo", "copy", "--dest-tls-verify=false", "oci:" + layout + ":latest",
                "docker://" + registry + "/e2e/" + name + ":latest");
    }

    private static byte[] bootstrapTar(byte[] boot) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            TarArchiveEntry dir = new TarArchiveEntry("image/");
            dir.setMode(040755);
            tar.putArchiveEntry(dir);
            tar.closeArchiveEntry();
            TarArchiveEntry f = new TarArchiveEntry("image/image.boot");
            f.setMode(0100644);
            f.setSize(boot.length);
            tar.putArchiveEntry(f);
            tar.write(boot);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
