package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.OciTools;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code --backend-type s3}: nydus blobs uploaded to an in-process s3proxy (SigV4 enforced, TESTING.md 3.1), the
 * manifest holding only the bootstrap layer (API spec 6.4); {@code check} reads the blobs back from the bucket and
 * the in-process nydusd mounts the image with the s3 backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObjectStorageBackendTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ACCESS_KEY = "nydusify-ak";
    private static final String SECRET = "nydusify-sk-0123456789";

    @TempDir
    static Path tmp;
    private S3Proxy proxy;
    private TransientNio2BlobStore store;
    private LayeredImage image;

    @BeforeAll
    void start() throws Exception {
        assumeThat(OciTools.available()).as("umoci, skopeo and busybox-static are needed; skipping").isTrue();
        store = new TransientNio2BlobStore();
        store.createContainer("nydus");
        proxy = S3ProxyServers.s3(store, ACCESS_KEY, SECRET);
        image = TestImages.rich(Files.createDirectories(tmp.resolve("src")), "latest", "amd64", 7);
    }

    @AfterAll
    void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
    }

    private String config(String secret, String prefix) {
        return "{\"scheme\":\"http\",\"endpoint\":\"127.0.0.1:" + proxy.getPort() + "\",\"region\":\"us-east-1\","
                + "\"bucket_name\":\"nydus\",\"object_prefix\":\"" + prefix + "\",\"access_key_id\":\"" + ACCESS_KEY
                + "\",\"access_key_secret\":\"" + secret + "\"}";
    }

    private List<String> objects(String prefix) {
        return store.list("nydus").contents().stream().map(o -> o.key()).filter(n -> n.startsWith(prefix)).sorted()
                .toList();
    }

    @Test
    void blobsGoToS3AndTheImageChecksAndMountsFromThere() throws Exception {
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("out") + ":s3";
        Path configFile = Files.writeString(tmp.resolve("s3.json"), config(SECRET, "blobs/"));
        Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target, "--backend-type", "s3",
                "--backend-config-file", configFile.toString(), "--work-dir", tmp.resolve("work").toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        List<String> stored = objects("blobs/");
        assertThat(stored).as("one object per nydus blob, named <object_prefix><hex>").hasSize(3)
                .allMatch(n -> n.matches("blobs/[0-9a-f]{64}"));
        for (String n : stored) {
            assertThat(tmp.resolve("out/blobs/sha256").resolve(n.substring(6)))
                    .as("the blob is not in the target layout").doesNotExist();
        }
        JsonNode m = JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--raw", target));
        assertThat(m.path("layers").size()).as("only the bootstrap layer (spec 6.4)").isEqualTo(1);
        assertThat(m.path("layers").get(0).path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())
                .isEqualTo("true");
        JsonNode config = JSON.readTree(OciTools.run(OciTools.SKOPEO.toString(), "inspect", "--config", "--raw",
                target));
        assertThat(config.path("rootfs").path("diff_ids").size()).isEqualTo(1);

        Nydusify.Result c = Nydusify.run("check", "--source", source, "--target", target, "--backend-type", "s3",
                "--backend-config", config(SECRET, "blobs/"), "--work-dir", tmp.resolve("check").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("read the blobs from s3://nydus/blobs/").contains("0 difference(s)");

        if (Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount"))) {
            Nydusify.Result mc = Nydusify.run("check", "--mount", "--source", source, "--target", target,
                    "--backend-type", "s3", "--backend-config", config(SECRET, "blobs/"), "--work-dir",
                    tmp.resolve("check-mount").toString());
            assertThat(mc.exitCode()).as(mc.toString()).isZero();
            assertThat(mc.out()).contains("with the s3 backend").contains("0 difference(s)");
        }

        if (Files.isReadable(Path.of("/dev/fuse")) && Files.isExecutable(Path.of("/usr/bin/fusermount"))) {
            // nydusify mount --backend-type s3: the in-process daemon reads the data from the bucket
            Path mp = tmp.resolve("mnt");
            try (Mounter mounted = Mounter.mount(ImageLocation.parse(target), false, false, Platform.host(),
                    ExternalBlobBackend.of("s3", config(SECRET, "blobs/")), null, mp, tmp.resolve("mount-work"))) {
                assertThat(Files.readAllBytes(mounted.mountpoint().resolve("bin/busybox")))
                        .isEqualTo(Files.readAllBytes(OciTools.BUSYBOX));
            }
        }

        Nydusify.Result again = Nydusify.run("convert", "--source", source, "--target", target, "--backend-type",
                "s3", "--backend-config-file", configFile.toString(), "--work-dir", tmp.resolve("work").toString());
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.err()).as("nothing uploaded twice").contains("(0 blobs pushed, ");
    }

    /**
     * {@code --backend-type oss}: virtual-hosted bucket URLs ({@code nydus.localhost:<port>}, resolved to loopback)
     * against s3proxy without authentication, which serves OSS-signed requests (TESTING.md 3.1): the OSS PUT and
     * Range GET paths end to end (the OSS signature itself is checked by the oss module's tests).
     */
    @Test
    void ossBackendUploadsAndChecks() throws Exception {
        TransientNio2BlobStore ossStore = new TransientNio2BlobStore();
        ossStore.createContainer("nydus");
        S3Proxy oss = S3ProxyServers.ossStandIn(ossStore);
        try {
            String config = "{\"scheme\":\"http\",\"endpoint\":\"localhost:" + oss.getPort() + "\",\"bucket_name\":"
                    + "\"nydus\",\"object_prefix\":\"oss/\",\"access_key_id\":\"ak\",\"access_key_secret\":\"sk\"}";
            String source = "oci:" + image.layout() + ":latest";
            String target = "oci:" + tmp.resolve("out-oss") + ":oss";
            Nydusify.Result r = Nydusify.run("convert", "--source", source, "--target", target, "--backend-type",
                    "oss", "--backend-config", config, "--work-dir", tmp.resolve("work-oss").toString());
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(ossStore.list("nydus").contents()).as("one object per nydus blob").hasSize(3)
                    .allMatch(o -> o.key().matches("oss/[0-9a-f]{64}"));
            Nydusify.Result c = Nydusify.run("check", "--source", source, "--target", target, "--backend-type",
                    "oss", "--backend-config", config, "--work-dir", tmp.resolve("check-oss").toString());
            assertThat(c.exitCode()).as(c.toString()).isZero();
            assertThat(c.out()).contains("read the blobs from oss://nydus/oss/").contains("0 difference(s)");
        } finally {
            oss.stop();
        }
    }

    @Test
    void wrongSecretFailsNamingTheBucketAndWritesNoManifest() throws Exception {
        String target = "oci:" + tmp.resolve("denied") + ":s3";
        Nydusify.Result r = Nydusify.run("convert", "--source", "oci:" + image.layout() + ":latest", "--target",
                target, "--backend-type", "s3", "--backend-config", config("wrong-secret", "x/"), "--work-dir",
                tmp.resolve("work2").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("s3://nydus/x/").contains("HTTP 403").doesNotContain("wrong-secret");
        assertThat(JSON.readTree(tmp.resolve("denied/index.json").toFile()).path("manifests").size())
                .as("no manifest after a failed upload").isZero();
        assertThat(objects("x/")).isEmpty();

        Nydusify.Result bad = Nydusify.run("convert", "--source", "oci:" + image.layout() + ":latest", "--target",
                target, "--backend-type", "s3", "--backend-config", "{\"endpoint\":\"127.0.0.1:1\"}");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("s3 backend config is invalid");
    }
}
