package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.storage.backend.BackendRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RegistryConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SEED = "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{\"scheme\":\"\","
            + "\"skip_verify\":true,\"timeout\":5,\"connect_timeout\":5,\"retry_limit\":4,\"auth\":\"\"}},"
            + "\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"cache\"}}},\"mode\":\"direct\","
            + "\"digest_validate\":false,\"iostats_files\":false,\"enable_xattr\":true,"
            + "\"fs_prefetch\":{\"enable\":true,\"threads_count\":4}}";

    @Test
    void seedConfigBindsThroughTheBackendRegistryAndOpeningWithoutHostFails() throws Exception {
        JsonNode node = JSON.readTree(SEED).path("device").path("backend").path("config");
        BackendRegistry backends = BackendRegistry.discover();
        assertThat(backends.types()).contains("registry");
        Object bound = backends.bindConfig("registry", node, "device.backend.config");
        assertThat(bound).isInstanceOf(RegistryConfig.class);
        RegistryConfig c = (RegistryConfig) bound;
        assertThat(c.host()).isEmpty();
        assertThat(c.repo()).isEmpty();
        assertThat(c.scheme()).isEmpty();
        assertThat(c.plainHttp()).isFalse();
        assertThat(c.skipVerify()).isTrue();
        assertThat(c.timeoutSecs()).isEqualTo(5);
        assertThat(c.connectTimeoutSecs()).isEqualTo(5);
        assertThat(c.retryLimit()).isEqualTo(4);
        assertThat(c.auth()).isEmpty();
        assertThat(c.proxy()).isEqualTo(ProxyConfig.NONE);
        assertThat(c.proxy().fallback()).isTrue();
        assertThatThrownBy(() -> backends.open("registry", bound, "ab".repeat(32), BackendContext.simple("/")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs 'host' and 'repo'").hasMessageContaining("ab".repeat(32));
        assertThatThrownBy(() -> new RegistryBackendProvider(Map.of()).open(c.withImage("reg.example", ""),
                "ab".repeat(32), BackendContext.simple("/"))).hasMessageContaining("repo=''");
    }

    @Test
    void unknownKeysAreIgnoredAndTheOthersBind() throws Exception {
        // CONFIG.md 1: unknown keys are ignored at every level, as upstream does (a warning names them)
        JsonNode node = JSON.readTree("{\"host\":\"h\",\"repo\":\"r\",\"retry_limt\":3,\"retry_limit\":2}");
        RegistryConfig c = (RegistryConfig) BackendRegistry.discover().bindConfig("registry", node, "backend.registry");
        assertThat(c.host()).isEqualTo("h");
        assertThat(c.repo()).isEqualTo("r");
        assertThat(c.retryLimit()).isEqualTo(2);
    }

    @Test
    void defaults() throws Exception {
        RegistryConfig c = JSON.readValue("{}", RegistryConfig.class);
        assertThat(c).isEqualTo(RegistryConfig.of("", ""));
        assertThat(c.timeoutSecs()).isEqualTo(5);
        assertThat(c.connectTimeoutSecs()).isEqualTo(5);
        assertThat(c.retryLimit()).isZero();
        assertThat(c.skipVerify()).isFalse();
        assertThat(c.caCertFiles()).isEmpty();
        assertThat(c.mirrors()).isEmpty();
        ProxyConfig p = JSON.readValue("{}", ProxyConfig.class);
        assertThat(p).isEqualTo(ProxyConfig.NONE);
        assertThat(p.fallback()).isTrue();
        assertThat(p.checkIntervalSecs()).isEqualTo(5);
        assertThat(p.checkPauseElapsedSecs()).isEqualTo(300);
        MirrorConfig m = JSON.readValue("{\"host\":\"http://127.0.0.1:65001/\"}", MirrorConfig.class);
        assertThat(m.host()).isEqualTo("http://127.0.0.1:65001");
        assertThat(m.pingUrl()).isEqualTo("http://127.0.0.1:65001/v2");
        assertThat(m.failureLimit()).isEqualTo(5);
        assertThat(m.healthCheckIntervalSecs()).isEqualTo(5);
        assertThat(m.healthCheckPauseElapsedSecs()).isEqualTo(300);
    }

    @Test
    void fullMapping() throws Exception {
        String json = "{\"host\":\"reg.example:5000\",\"repo\":\"ns/app\",\"scheme\":\"http\",\"auth\":\"dTpw\","
                + "\"registry_token\":\"tok\",\"blob_url_scheme\":\"https\",\"blob_redirected_host\":\"cdn.example\","
                + "\"skip_verify\":true,\"ca_cert_files\":[\"/etc/ca.pem\"],\"timeout\":7,\"connect_timeout\":3,"
                + "\"retry_limit\":2,\"readahead\":false,\"readahead_sec\":10,"
                + "\"proxy\":{\"url\":\"http://127.0.0.1:4001\",\"ping_url\":\"http://127.0.0.1:4003/healthy\","
                + "\"fallback\":false,\"check_interval\":9,\"check_pause_elapsed\":60,\"use_http\":true,"
                + "\"dragonfly_scheduler_endpoint\":\"unix:///run/df.sock\"},"
                + "\"mirrors\":[{\"host\":\"http://127.0.0.1:65001\",\"ping_url\":\"http://127.0.0.1:40901/server/ping\","
                + "\"headers\":{\"X-Dragonfly-Registry\":\"https://index.docker.io\"},\"health_check_interval\":6,"
                + "\"failure_limit\":2,\"health_check_pause_elapsed\":30,\"auth_through\":true}]}";
        RegistryConfig c = JSON.readValue(json, RegistryConfig.class);
        assertThat(c).isEqualTo(new RegistryConfig("reg.example:5000", "ns/app", "http", "dTpw", "tok", "https",
                "cdn.example", true, List.of("/etc/ca.pem"), 7, 3, 2,
                new ProxyConfig("http://127.0.0.1:4001", "http://127.0.0.1:4003/healthy", false, 9, 60, true,
                        "unix:///run/df.sock"),
                List.of(new MirrorConfig("http://127.0.0.1:65001", "http://127.0.0.1:40901/server/ping",
                        Map.of("X-Dragonfly-Registry", "https://index.docker.io"), 6, 2, 30, true))));
        assertThat(c.plainHttp()).isTrue();
    }

    @Test
    void secretsNeverAppearInToStringOrErrors() throws Exception {
        RegistryConfig c = RegistryConfig.of("h", "r").withCredentials("user", "hunter2");
        assertThat(c.toString()).contains("auth=<redacted>").doesNotContain(c.auth()).doesNotContain("hunter2");
        RegistryConfig t = JSON.readValue("{\"registry_token\":\"sekrit-token\"}", RegistryConfig.class);
        assertThat(t.toString()).contains("registry_token=<redacted>").doesNotContain("sekrit-token");
        assertThatThrownBy(() -> JSON.readValue("{\"auth\":\"not base64 at all!\"}", RegistryConfig.class))
                .hasMessageContaining("Invalid registry auth config").hasMessageNotContaining("not base64 at all!");
        String noColon = java.util.Base64.getEncoder().encodeToString("justauser".getBytes());
        assertThatThrownBy(() -> JSON.readValue("{\"auth\":\"" + noColon + "\"}", RegistryConfig.class))
                .hasMessageContaining("no ':'").hasMessageNotContaining(noColon);
    }

    @Test
    void invalidValuesNameTheKey() {
        assertThatThrownBy(() -> JSON.readValue("{\"timeout\":-1}", RegistryConfig.class))
                .hasMessageContaining("timeout");
        assertThatThrownBy(() -> JSON.readValue("{\"proxy\":{\"ping_url\":\"not a url\"}}", RegistryConfig.class))
                .hasMessageContaining("proxy.ping_url");
        assertThatThrownBy(() -> JSON.readValue("{\"host\":\"https://reg.example\"}", RegistryConfig.class))
                .hasMessageContaining("without scheme");
        assertThatThrownBy(() -> JSON.readValue("{\"mirrors\":[{}]}", RegistryConfig.class))
                .hasMessageContaining("mirrors[].host is required");
    }

    @Test
    void unreadableCaCertFilesFailAtBindTime() throws Exception {
        JsonNode node = JSON.readTree("{\"ca_cert_files\":[\"/nonexistent/ca.pem\"]}");
        assertThatThrownBy(() -> BackendRegistry.discover().bindConfig("registry", node, "device.backend.config"))
                .hasMessageContaining("ca_cert_files").hasMessageContaining("/nonexistent/ca.pem");
    }

    @Test
    void invalidBlobIdsAreRejected() {
        RegistryBackendProvider p = new RegistryBackendProvider(Map.of());
        assertThatThrownBy(() -> p.open(RegistryConfig.of("h", "r"), "sha256:" + "a".repeat(64),
                BackendContext.simple("/"))).hasMessageContaining("without 'sha256:'");
        assertThatThrownBy(() -> p.open(RegistryConfig.of("h", "r"), "../etc/passwd", BackendContext.simple("/")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
