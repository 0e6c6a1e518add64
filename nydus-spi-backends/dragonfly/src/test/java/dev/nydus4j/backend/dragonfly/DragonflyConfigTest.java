package dev.nydus4j.backend.dragonfly;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackendProvider;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Binding and validation of the dragonfly config; discovery through ServiceLoader. */
class DragonflyConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROXY = "\"proxy\":{\"url\":\"http://127.0.0.1:4001\",\"ping_url\":"
            + "\"http://127.0.0.1:4003/healthy\",\"check_interval\":5,\"fallback\":true}";

    private static DragonflyConfig bind(String json) throws Exception {
        return JSON.readValue(json, DragonflyConfig.class);
    }

    @Test
    void registryOriginBindsWithTheRegistryKeysAndRedactsSecrets() throws Exception {
        DragonflyConfig c = bind("{" + PROXY + ",\"registry\":{\"host\":\"reg.example\",\"repo\":\"lib/app\","
                + "\"auth\":\"dXNlcjpwYXNz\",\"timeout\":7,\"retry_limit\":2}}");
        assertThat(c.proxy().url()).isEqualTo("http://127.0.0.1:4001");
        assertThat(c.proxy().checkIntervalSecs()).isEqualTo(5);
        assertThat(c.registry().timeoutSecs()).isEqualTo(7);
        assertThat(c.registry().retryLimit()).isEqualTo(2);
        assertThat(c.toString()).contains("<redacted>").doesNotContain("dXNlcjpwYXNz");
        assertThat(c.withImage("other.example", "x/y").registry().host()).isEqualTo("other.example");
    }

    @Test
    void blobUrlOriginTakesTheHttpKeysBesideIt() throws Exception {
        DragonflyConfig c = bind("{" + PROXY + ",\"blob_url\":\"https://blobs.example:8443/n/{blob_id}?x=1\","
                + "\"timeout\":3,\"connect_timeout\":1,\"retry_limit\":4,\"skip_verify\":true}");
        assertThat(c.http().timeoutSecs()).isEqualTo(3);
        assertThat(c.http().retryLimit()).isEqualTo(4);
        assertThat(c.http().skipVerify()).isTrue();
        assertThat(DragonflyConfig.origin(c.blobUrl(), "ab".repeat(32)))
                .hasToString("https://blobs.example:8443/n/" + "ab".repeat(32) + "?x=1");
    }

    @Test
    void badConfigsNameTheKey() {
        assertThatThrownBy(() -> bind("{\"registry\":{\"host\":\"r\",\"repo\":\"a\"}}"))
                .hasMessageContaining("'proxy.url' is required");
        assertThatThrownBy(() -> bind("{" + PROXY + "}")).hasMessageContaining("exactly one origin");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"registry\":{},\"blob_url\":\"http://h/{blob_id}\"}"))
                .hasMessageContaining("exactly one origin");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"blob_url\":\"http://h/blobs/x\"}"))
                .hasMessageContaining("'blob_url' must contain {blob_id}");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"blob_url\":\"ftp://h/{blob_id}\"}"))
                .hasMessageContaining("http:// or https://");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"blob_url\":\"http://u:secret@h/{blob_id}\"}"))
                .hasMessageContaining("user info").hasMessageNotContaining("secret");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"registry\":{\"host\":\"r\",\"repo\":\"a\"},\"timeout\":3}"))
                .hasMessageContaining("set them inside the registry object");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"registry\":{\"proxy\":{\"url\":\"http://p:1\"}}}"))
                .hasMessageContaining("'registry.proxy' is not allowed");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"registry\":{\"mirrors\":[{\"host\":\"http://m\"}]}}"))
                .hasMessageContaining("'registry.mirrors' is not allowed");
        assertThatThrownBy(() -> bind("{" + PROXY + ",\"registry\":{},\"proxy_url\":\"x\"}"))
                .isInstanceOf(UnrecognizedPropertyException.class).hasMessageContaining("proxy_url");
    }

    @Test
    void openChecksTheBlobIdAndTheRegistryImage() throws Exception {
        DragonflyBackendProvider p = new DragonflyBackendProvider(Map.of());
        DragonflyConfig noImage = bind("{" + PROXY + ",\"registry\":{}}");
        assertThatThrownBy(() -> p.open(noImage, "ab".repeat(32), BackendContext.simple("/")))
                .hasMessageContaining("needs 'host' and 'repo'");
        assertThatThrownBy(() -> p.open(noImage, "sha256:abc", BackendContext.simple("/")))
                .hasMessageContaining("invalid blob id 'sha256:abc' for dragonfly backend");
    }

    @Test
    void discoveredThroughServiceLoader() {
        assertThat(ServiceLoader.load(BlobBackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .map(BlobBackendProvider::type)).contains("dragonfly", "registry");
    }
}
