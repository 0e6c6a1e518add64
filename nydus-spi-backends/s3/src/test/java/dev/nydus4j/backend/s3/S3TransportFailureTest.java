package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ProxyConfig;

import com.sun.net.httpserver.HttpServer;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Transport failures are retryable BackendExceptions naming the object; the {@code timeout} key bounds a request. */
class S3TransportFailureTest {
    private static final String ID = "e1".repeat(32);

    @Test
    void refusedConnectionIsRetryableAndNamesTheObject() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        S3Config config = S3Config.of("http", "127.0.0.1:" + port, "us-east-1", "nydus", "p/", "ak", "sk");
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config, ID, BackendContext.simple("/"))) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class, e -> {
                assertThat(e.isRetryable()).isTrue();
                assertThat(e.httpStatus()).isZero();
                assertThat(e.getMessage()).contains("s3 backend", "HEAD s3://nydus/p/" + ID);
            });
        }
    }

    @Test
    void aSilentServerTimesOutAfterTheConfiguredTimeout() throws Exception {
        HttpServer silent = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        silent.createContext("/", ex -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        silent.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        silent.start();
        try {
            S3Config config = new S3Config("us-east-1", "nydus", "127.0.0.1:" + silent.getAddress().getPort(), "",
                    "http", "ak", "sk", false, List.of(), 1, 1, 0, ProxyConfig.NONE);
            try (BlobBackend b = new S3BackendProvider(Map.of()).open(config, ID, BackendContext.simple("/"))) {
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> b.read(ByteBuffer.allocate(8), 0)).isInstanceOfSatisfying(
                        BackendException.class, e -> assertThat(e.isRetryable()).isTrue());
                assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(900L, 5_000L);
            }
        } finally {
            silent.stop(0);
        }
    }
}
