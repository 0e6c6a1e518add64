package dev.nydus4j.backend.localfs;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.testkit.BlobBackendConformanceTest;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** localfs against the backend contract: blobs as files in a directory. */
class LocalfsConformanceTest extends BlobBackendConformanceTest {
    private static final String ID = "ab".repeat(32);
    private Path dir;
    private byte[] content;

    @BeforeAll
    void createBlob() throws IOException {
        dir = Files.createTempDirectory("localfs-conformance");
        content = new byte[300_007];
        new Random(42).nextBytes(content);
        Files.write(dir.resolve(ID), content);
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
    protected BlobBackend open(String blobId) throws IOException {
        return new LocalfsBackendProvider().open(LocalfsConfig.ofDir(dir.toString()), blobId,
                BackendContext.simple("/"));
    }
}
