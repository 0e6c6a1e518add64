package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.testkit.BlobBackendConformanceTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** The registry backend against the backend contract, on a real docker-registry over plain http. */
class RegistryConformanceTest extends BlobBackendConformanceTest {
    private Path dir;
    private LocalRegistry registry;
    private byte[] content;
    private String blobId;

    @BeforeAll
    void start() throws Exception {
        LocalRegistry.assumeInstalled();
        dir = Files.createTempDirectory("registry-conformance");
        registry = LocalRegistry.start(dir.resolve("registry"), "", "");
        content = new byte[300_007];
        new Random(43).nextBytes(content);
        try (RegistryClient client = RegistryClient.open(config(), Map.of())) {
            blobId = client.pushBlob("conformance/blob", content).substring("sha256:".length());
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    private RegistryConfig config() {
        return RegistryConfig.of(registry.host(), "conformance/blob").withTls("http", false, List.of());
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
        return new RegistryBackendProvider(Map.of()).open(config(), id, BackendContext.simple("/"));
    }

    @Override
    protected boolean shortReadsAtEnd() {
        return false; // network backends fill the buffer or fail
    }

    @Override
    protected BlobBackend openAtHttpOrigin(String hostPort, String blobId, int timeoutSecs, int retryLimit)
            throws IOException {
        RegistryConfig c = RegistryConfig.of(hostPort, "conformance/blob").withTls("http", false, List.of())
                .withTimeouts(timeoutSecs, timeoutSecs, retryLimit);
        return new RegistryBackendProvider(Map.of()).open(c, blobId, BackendContext.simple("/"));
    }
}
