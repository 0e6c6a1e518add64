package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.oci.TestCerts;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A docker-registry with TLS (self-signed CA made by openssl) and htpasswd Basic auth (bcrypt). */
class TlsBasicAuthRegistryTest {
    private static final String USER = "tester";
    private static final String PASSWORD = LocalRegistry.FIXTURE_PASSWORD;
    private static final String WRONG = "wrong-Pa55word";

    @TempDir
    static Path dir;
    static LocalRegistry registry;
    static TestCerts certs;
    static byte[] blob;
    static String blobId;

    @BeforeAll
    static void start() throws Exception {
        LocalRegistry.assumeInstalled();
        certs = TestCerts.create(dir.resolve("certs"));
        Path htpasswd = dir.resolve("htpasswd");
        Files.writeString(htpasswd, LocalRegistry.htpasswdLine(USER, PASSWORD));
        registry = LocalRegistry.start(dir.resolve("registry"),
                "  tls: {certificate: " + certs.serverCert() + ", key: " + certs.serverKey() + "}\n",
                "auth:\n  htpasswd: {realm: nydus4j-test, path: " + htpasswd + "}\n");
        blob = new byte[100_000];
        new Random(42).nextBytes(blob);
        try (RegistryClient client = RegistryClient.open(verified().withCredentials(USER, PASSWORD), Map.of())) {
            blobId = client.pushBlob("secure/app", blob).substring("sha256:".length());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    static RegistryConfig verified() {
        return RegistryConfig.of(registry.host(), "secure/app").withTls("https", false,
                List.of(certs.caCert().toString()));
    }

    private static byte[] read(RegistryConfig config, Map<String, String> env, long pos, int len) throws Exception {
        try (BlobBackend b = new RegistryBackendProvider(env).open(config, blobId, BackendContext.simple("/"))) {
            ByteBuffer dst = ByteBuffer.allocate(len);
            assertThat(b.read(dst, pos)).isEqualTo(len);
            return dst.array();
        }
    }

    @Test
    void caCertFilesVerifyTheServer() throws Exception {
        assertThat(read(verified().withCredentials(USER, PASSWORD), Map.of(), 10, 1000))
                .isEqualTo(Arrays.copyOfRange(blob, 10, 1010));
    }

    @Test
    void skipVerifyAcceptsTheSelfSignedChain() throws Exception {
        RegistryConfig c = verified().withCredentials(USER, PASSWORD).withTls("", true, List.of());
        assertThat(read(c, Map.of(), 0, blob.length)).isEqualTo(blob);
    }

    @Test
    void withoutTheCaTheHandshakeFailsClearly() {
        RegistryConfig c = verified().withCredentials(USER, PASSWORD).withTls("", false, List.of());
        assertThatThrownBy(() -> read(c, Map.of(), 0, 10)).isInstanceOf(BackendException.class)
                .hasMessageContaining(registry.host()).hasMessageContaining(blobId)
                .hasMessageContaining("ca_cert_files").hasMessageContaining("skip_verify")
                .matches(e -> !((BackendException) e).isRetryable());
    }

    @Test
    void wrongCredentialsGiveA401WithoutTheSecret() {
        RegistryConfig c = verified().withCredentials(USER, WRONG);
        String encoded = Base64.getEncoder().encodeToString((USER + ":" + WRONG).getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> read(c, Map.of(), 0, 10)).isInstanceOf(BackendException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("credentials rejected")
                .hasMessageContaining("secure/app").hasMessageContaining("bytes=0-9")
                .hasMessageNotContaining(WRONG).hasMessageNotContaining(encoded)
                .matches(e -> ((BackendException) e).httpStatus() == 401);
        assertThat(c.toString()).doesNotContain(encoded).contains("auth=<redacted>");
    }

    @Test
    void noCredentialsGiveA401() {
        assertThatThrownBy(() -> read(verified(), Map.of(), 0, 10)).isInstanceOf(BackendException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("no credentials");
    }

    @Test
    void credentialsComeFromTheDockerConfigWhenTheConfigHasNone() throws Exception {
        Path dockerDir = dir.resolve("docker");
        Files.createDirectories(dockerDir);
        String encoded = Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        Files.writeString(dockerDir.resolve("config.json"),
                "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + encoded + "\"}}}");
        assertThat(read(verified(), Map.of("DOCKER_CONFIG", dockerDir.toString()), 5, 5))
                .isEqualTo(Arrays.copyOfRange(blob, 5, 10));
        Path home = dir.resolve("home");
        Files.createDirectories(home.resolve(".docker"));
        Files.copy(dockerDir.resolve("config.json"), home.resolve(".docker/config.json"));
        assertThat(read(verified(), Map.of("HOME", home.toString()), 7, 3)).isEqualTo(Arrays.copyOfRange(blob, 7, 10));
    }
}
