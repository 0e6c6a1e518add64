package dev.nydus4j.backend.oss;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.testkit.BlobBackendConformanceTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
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
}
