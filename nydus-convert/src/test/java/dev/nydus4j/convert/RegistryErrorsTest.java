package dev.nydus4j.convert;

import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.testkit.oci.OciTools;
import dev.nydus4j.testkit.oci.TestCerts;
import dev.nydus4j.testkit.oci.TokenServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code nydusify convert} against real docker-registries with Bearer token auth, with TLS from a self-signed CA,
 * and behind a fault proxy that denies or breaks blob uploads: conversions either succeed and check, or fail with
 * exit code 1 and an error naming the registry, repository and blob, leaving no manifest in the target (asked of
 * the registry itself).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryErrorsTest {
    @TempDir
    static Path tmp;
    private LayeredImage image;
    private final List<AutoCloseable> servers = new ArrayList<>();

    @BeforeAll
    void buildImage() throws Exception {
        assumeThat(LocalRegistry.available() && OciTools.available())
                .as("docker-registry, umoci, skopeo and busybox-static are needed; skipping").isTrue();
        image = TestImages.rich(Files.createDirectories(tmp.resolve("images")), "latest", "amd64", 99);
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable s : servers) {
            s.close();
        }
    }

    private <T extends AutoCloseable> T started(T server) {
        servers.add(server);
        return server;
    }

    private static Nydusify.Result convert(String source, String target, String... extra) {
        List<String> args = new ArrayList<>(List.of("convert", "--source", source, "--target", target,
                "--work-dir", tmp.resolve("work").toString(), "--push-retry-count", "1", "--push-retry-delay", "10ms"));
        args.addAll(List.of(extra));
        return Nydusify.run(args.toArray(String[]::new));
    }

    /** Asks the registry (not the proxy) whether {@code repo:tag} exists. */
    private static void assertNoManifest(String host, String repoTag, String... skopeoArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(OciTools.SKOPEO.toString(), "inspect", "--raw"));
        cmd.addAll(List.of(skopeoArgs));
        cmd.add("docker://" + host + "/" + repoTag);
        try {
            OciTools.run(cmd);
            throw new AssertionError("a manifest was pushed to " + host + "/" + repoTag);
        } catch (IOException expected) {
            assertThat(expected.getMessage()).containsIgnoringCase("manifest unknown");
        }
    }

    @Test
    void bearerTokenAuthConvertsAndChecksAndReadOnlyTokensAreDenied() throws Exception {
        TokenServer tokens = started(new TokenServer(tmp.resolve("token")));
        LocalRegistry registry = started(LocalRegistry.start(tmp.resolve("token-registry"), "",
                tokens.registryAuthYaml()));
        String host = registry.host();
        OciTools.push(image.ociRef(), "docker://" + host + "/tok/app:v1");
        tokens.calls.clear();
        Nydusify.Result r = convert(host + "/tok/app:v1", host + "/tok/app:v1-nydus", "--source-insecure",
                "--target-insecure");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(tokens.calls).as("the client fetched Bearer tokens, one of them for push")
                .anyMatch(c -> java.net.URLDecoder.decode(c.query() + c.body(), java.nio.charset.StandardCharsets.UTF_8)
                        .matches(".*repository:tok/app:(pull,push|push,pull).*"));
        Nydusify.Result c = Nydusify.run("check", "--source", host + "/tok/app:v1", "--target",
                host + "/tok/app:v1-nydus", "--source-insecure", "--target-insecure", "--work-dir",
                tmp.resolve("check-token").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("0 difference(s)");

        tokens.pullOnly = true; // read-only credentials: the registry refuses the upload
        try {
            Nydusify.Result denied = convert(host + "/tok/app:v1", host + "/tok/other:denied", "--source-insecure",
                    "--target-insecure");
            assertThat(denied.exitCode()).as(denied.toString()).isEqualTo(1);
            assertThat(denied.err()).contains(host).contains("tok/other").contains("401");
            assertNoManifest(host, "tok/other:denied", "--tls-verify=false");
        } finally {
            tokens.pullOnly = false;
        }
    }

    @Test
    void tlsWithASelfSignedCaNeedsTrustOrInsecure() throws Exception {
        TestCerts certs = TestCerts.create(tmp.resolve("certs"));
        LocalRegistry registry = started(LocalRegistry.start(tmp.resolve("tls-registry"), certs.registryTlsYaml(),
                ""));
        String host = "localhost:" + registry.port();
        OciTools.push(image.ociRef(), "docker://" + host + "/app:v1");

        Nydusify.Result untrusted = convert(host + "/app:v1", host + "/app:untrusted");
        assertThat(untrusted.exitCode()).as(untrusted.toString()).isEqualTo(1);
        assertThat(untrusted.err()).contains(host).containsIgnoringCase("certificat");
        assertNoManifest(host, "app:untrusted", "--tls-verify=false");

        Nydusify.Result insecure = convert(host + "/app:v1", host + "/app:insecure", "--source-insecure",
                "--target-insecure");
        assertThat(insecure.exitCode()).as(insecure.toString()).isZero();

        System.setProperty("nydusify.ca-cert-files", certs.caCert().toString());
        try {
            Nydusify.Result trusted = convert(host + "/app:v1", host + "/app:trusted");
            assertThat(trusted.exitCode()).as("verified against the CA, no --*-insecure: " + trusted).isZero();
            Nydusify.Result c = Nydusify.run("check", "--source", host + "/app:v1", "--target", host + "/app:trusted",
                    "--work-dir", tmp.resolve("check-tls").toString());
            assertThat(c.exitCode()).as(c.toString()).isZero();
            if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/dev/fuse"))
                    && java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/fusermount"))) {
                // the daemon's registry backend trusts the same CA (ca_cert_files), still without skip_verify
                Nydusify.Result m = Nydusify.run("check", "--mount", "--source", host + "/app:v1", "--target",
                        host + "/app:trusted", "--work-dir", tmp.resolve("check-tls-mount").toString());
                assertThat(m.exitCode()).as(m.toString()).isZero();
                assertThat(m.out()).contains("with the registry backend").contains("0 difference(s)");
            }
        } finally {
            System.clearProperty("nydusify.ca-cert-files");
        }
    }

    @Test
    void deniedUploadFailsAtOnceAndServerErrorsMidUploadAreRetriedThenFail() throws Exception {
        LocalRegistry registry = started(LocalRegistry.start(tmp.resolve("plain-registry")));
        OciTools.push(image.ociRef(), "docker://" + registry.host() + "/app:v1");
        FaultProxy proxy = started(new FaultProxy(registry.host()));
        String source = registry.host() + "/app:v1";

        proxy.fault = (method, path) -> method.equals("POST") && path.contains("/blobs/uploads/") ? 403 : null;
        Nydusify.Result denied = convert(source, proxy.host() + "/denied:v1", "--plain-http");
        assertThat(denied.exitCode()).as(denied.toString()).isEqualTo(1);
        assertThat(denied.err()).contains(proxy.host()).contains("denied").contains("sha256:").contains("403");
        // each layer first tries a streaming upload (refused, so it falls back to pushing the built file), then
        // the push itself is refused: a 4xx is not retried, so no blob sees more than those two POSTs
        long posts = proxy.requests.stream().filter(r -> r.startsWith("POST ")).count();
        assertThat(posts).as("4xx is not retried").isBetween(1L, 2L * 4);
        assertNoManifest(registry.host(), "denied:v1", "--tls-verify=false");

        proxy.requests.clear();
        // every upload dies at the PUT that completes it, after its data went up (PATCH, or the monolithic PUT)
        proxy.fault = (method, path) -> method.equals("PUT") && path.contains("/blobs/uploads/") ? 500 : null;
        Nydusify.Result broken = convert(source, proxy.host() + "/broken:v1", "--plain-http");
        assertThat(broken.exitCode()).as(broken.toString()).isEqualTo(1);
        assertThat(broken.err()).contains(proxy.host()).contains("broken").contains("sha256:").contains("500");
        assertThat(proxy.requests.stream().filter(r -> r.startsWith("PUT ") && r.contains("/blobs/uploads/")))
                .as("the failed upload was retried (--push-retry-count 1)").hasSizeGreaterThanOrEqualTo(2);
        assertThat(proxy.requests).as("no manifest PUT reached the registry")
                .noneMatch(r -> r.startsWith("PUT ") && r.contains("/manifests/"));
        assertNoManifest(registry.host(), "broken:v1", "--tls-verify=false");
    }
}
