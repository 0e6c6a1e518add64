package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.backend.RetryingBlobBackend;
import dev.nydus4j.testkit.BlobBackendConformanceTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The oss backend against the backend contract: signed, virtual-hosted requests to an in-process s3proxy that
 * serves the OSS data plane without checking signatures (the signature is checked in OssBackendTest).
 */
class OssConformanceTest extends BlobBackendConformanceTest {
    private static final String ID = "0a".repeat(32);
    private OssProxyServer server;
    private byte[] content;

    @BeforeAll
    void startServer() throws Exception {
        server = new OssProxyServer("nydus");
        content = new byte[300_007];
        new Random(11).nextBytes(content);
        server.put("nydus", "nydus/" + ID, content);
    }

    @AfterAll
    void stopServer() throws Exception {
        server.close();
    }

    @Override
    protected byte[] content() {
        return content;
    }

    @Override
    protected String blobId() {
        return ID;
    }

    @Override
    protected boolean shortReadsAtEnd() {
        return false;
    }

    @Override
    protected BlobBackend open(String blobId) throws IOException {
        OssConfig config = OssConfig.of("http", server.endpoint(), "nydus", "nydus/", "ak", "sk");
        return new OssBackendProvider(Map.of()).open(config, blobId, BackendContext.simple("/"));
    }

    /**
     * Through the core's retry wrapper, as BackendRegistry opens it ({@code retry_limit} is applied there). The
     * bucket is virtual-hosted: {@code nydus.localhost} resolves to the loopback address.
     */
    @Override
    protected BlobBackend openAtHttpOrigin(String hostPort, String blobId, int timeoutSecs, int retryLimit)
            throws IOException {
        OssConfig config = new OssConfig(hostPort.replace("127.0.0.1", "localhost"), "nydus", "nydus/", "http", "ak",
                "sk", false, List.of(), timeoutSecs, timeoutSecs, retryLimit, ProxyConfig.NONE);
        OssBackendProvider p = new OssBackendProvider(Map.of());
        return RetryingBlobBackend.wrap(p.open(config, blobId, BackendContext.simple("/")), p.retryLimit(config));
    }
}
