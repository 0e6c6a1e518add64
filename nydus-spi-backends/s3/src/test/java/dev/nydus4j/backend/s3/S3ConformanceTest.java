package dev.nydus4j.backend.s3;

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

/** The s3 backend against the backend contract, reading from an in-process s3proxy that enforces SigV4. */
class S3ConformanceTest extends BlobBackendConformanceTest {
    private static final String ID = "5e".repeat(32);
    private S3ProxyServer server;
    private byte[] content;

    @BeforeAll
    void startServer() throws Exception {
        server = new S3ProxyServer("nydus");
        content = new byte[300_007];
        new Random(7).nextBytes(content);
        server.put("nydus", "blobs/" + ID, content);
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
        S3Config config = S3Config.of("http", server.endpoint(), S3ProxyServer.REGION, "nydus", "blobs/",
                S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET);
        return new S3BackendProvider(Map.of()).open(config, blobId, BackendContext.simple("/"));
    }

    /** Through the core's retry wrapper, as BackendRegistry opens it ({@code retry_limit} is applied there). */
    @Override
    protected BlobBackend openAtHttpOrigin(String hostPort, String blobId, int timeoutSecs, int retryLimit)
            throws IOException {
        S3Config config = new S3Config(S3ProxyServer.REGION, "nydus", hostPort, "blobs/", "http",
                S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET, false, List.of(), timeoutSecs, timeoutSecs, retryLimit,
                ProxyConfig.NONE);
        S3BackendProvider p = new S3BackendProvider(Map.of());
        return RetryingBlobBackend.wrap(p.open(config, blobId, BackendContext.simple("/")), p.retryLimit(config));
    }
}
