package dev.nydus4j.backend.dragonfly;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.backend.registry.RegistryClient;
import dev.nydus4j.backend.registry.RegistryConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.testkit.BlobBackendConformanceTest;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.testkit.oci.NginxProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dragonfly backend against the backend contract: blobs of a real docker-registry read through a real nginx
 * caching proxy standing in for dfdaemon (TESTING.md 4), with ping health checks on.
 */
class DragonflyConformanceTest extends BlobBackendConformanceTest {
    private Path dir;
    private LocalRegistry registry;
    private NginxProxy nginx;
    private byte[] content;
    private String blobId;

    @BeforeAll
    void start() throws Exception {
        LocalRegistry.assumeInstalled();
        NginxProxy.assumeInstalled();
        dir = Files.createTempDirectory("dragonfly-conformance");
        registry = LocalRegistry.start(dir.resolve("registry"));
        nginx = NginxProxy.start(dir.resolve("nginx"), registry.host());
        content = new byte[300_007];
        new Random(47).nextBytes(content);
        try (RegistryClient client = RegistryClient.open(RegistryConfig.of(registry.host(), "conformance/df")
                .withTls("http", false, List.of()), Map.of())) {
            blobId = client.pushBlob("conformance/df", content).substring("sha256:".length());
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (nginx != null) {
            nginx.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private DragonflyConfig config() throws IOException {
        String json = "{\"proxy\":{\"url\":\"" + nginx.url() + "\",\"ping_url\":\"" + nginx.pingUrl() + "\","
                + "\"check_interval\":1,\"fallback\":false},\"registry\":{\"host\":\"" + registry.host() + "\","
                + "\"repo\":\"conformance/df\",\"scheme\":\"http\",\"timeout\":10,\"retry_limit\":1}}";
        return new ObjectMapper().readValue(json, DragonflyConfig.class);
    }

    @Override
    protected byte[] content() {
        return content;
    }

    @Override
    protected String blobId() {
        return blobId;
    }

    @Override
    protected BlobBackend open(String id) throws IOException {
        return new DragonflyBackendProvider(Map.of()).open(config(), id, BackendContext.simple("/"));
    }

    @Override
    protected boolean shortReadsAtEnd() {
        return false;
    }

    /**
     * With fallback off every blob request went through nginx with the Dragonfly headers; the registry itself only
     * saw nginx's whole-slice fetches (one 1 MiB slice covers this blob), never our small ranges.
     */
    @Test
    void everyBlobRequestWentThroughTheProxy() throws Exception {
        try (BlobBackend b = open(blobId)) {
            ByteBuffer dst = ByteBuffer.allocate(100);
            assertThat(b.read(dst, 5000)).isEqualTo(100);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, 5000, 5100));
        }
        assertThat(nginx.blobAccesses()).filteredOn(a -> a.uri().endsWith(blobId)).isNotEmpty().allSatisfy(a -> {
            assertThat(a.dragonflyPriority()).isEqualTo("6");
            assertThat(a.dragonflyUseP2p()).isEqualTo("true");
        });
        assertThat(registry.accessLog()).filteredOn(a -> a.isBlobGet(blobId)).hasSizeBetween(1, 2)
                .allSatisfy(a -> assertThat(a.bytes()).as("a whole nginx slice").isEqualTo(content.length));
    }

    /** The faulty server is the proxy (fallback off); the origin registry is never contacted. */
    @Override
    protected BlobBackend openAtHttpOrigin(String hostPort, String blobId, int timeoutSecs, int retryLimit)
            throws IOException {
        String json = "{\"proxy\":{\"url\":\"http://" + hostPort + "\",\"fallback\":false},\"registry\":{\"host\":"
                + "\"127.0.0.1:9\",\"repo\":\"never/used\",\"scheme\":\"http\",\"timeout\":" + timeoutSecs
                + ",\"connect_timeout\":" + timeoutSecs + ",\"retry_limit\":" + retryLimit + "}}";
        return new DragonflyBackendProvider(Map.of()).open(new ObjectMapper().readValue(json, DragonflyConfig.class),
                blobId, BackendContext.simple("/"));
    }
}
