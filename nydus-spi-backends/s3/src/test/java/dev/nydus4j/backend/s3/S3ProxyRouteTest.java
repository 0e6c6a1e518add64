package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ProxyConfig;

import com.sun.net.httpserver.HttpServer;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code proxy.url}: requests go to the forward proxy first (absolute-form, signed); a failing proxy (502) falls
 * back to the origin only with {@code proxy.fallback}; with {@code ping_url} an unhealthy proxy is not tried at all
 * (direct with fallback, a clear error without) until a ping succeeds again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3ProxyRouteTest {
    private static final String ID = "c3".repeat(32);
    private final List<String> proxied = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger pings = new java.util.concurrent.atomic.AtomicInteger();
    private volatile int pingStatus = 200;
    private volatile boolean forbid;
    private final List<String> dragonflyHeaders = new CopyOnWriteArrayList<>();
    private S3ProxyServer origin;
    private HttpServer failingProxy;
    private byte[] content;

    @BeforeAll
    void start() throws Exception {
        origin = new S3ProxyServer("nydus");
        content = new byte[20_000];
        new Random(9).nextBytes(content);
        origin.put("nydus", ID, content);
        failingProxy = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        failingProxy.createContext("/", ex -> {
            try (ex) {
                proxied.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " signed="
                        + ex.getRequestHeaders().getFirst("Authorization").startsWith("AWS4-HMAC-SHA256 "));
                dragonflyHeaders.add(ex.getRequestHeaders().getFirst("X-Dragonfly-Priority") + "/"
                        + ex.getRequestHeaders().getFirst("X-Dragonfly-Use-P2P"));
                if (forbid) {
                    ex.getResponseHeaders().set("X-Dragonfly-Error-Type", "proxy");
                    ex.sendResponseHeaders(403, -1);
                    return;
                }
                ex.sendResponseHeaders(502, -1);
            }
        });
        failingProxy.createContext("/healthy", ex -> {
            try (ex) {
                pings.incrementAndGet();
                ex.sendResponseHeaders(pingStatus, -1);
            }
        });
        failingProxy.start();
    }

    @AfterAll
    void stop() throws Exception {
        failingProxy.stop(0);
        origin.close();
    }

    private S3Config config(boolean fallback) {
        return config(fallback, "");
    }

    private S3Config config(boolean fallback, String pingUrl) {
        ProxyConfig proxy = new ProxyConfig("http://127.0.0.1:" + failingProxy.getAddress().getPort(), pingUrl,
                fallback, 1, 300, false, "");
        return new S3Config(S3ProxyServer.REGION, "nydus", origin.endpoint(), "", "http", S3ProxyServer.ACCESS_KEY,
                S3ProxyServer.SECRET, false, List.of(), 5, 5, 0, proxy);
    }

    @Test
    void failingProxyFallsBackToTheOrigin() throws Exception {
        proxied.clear();
        dragonflyHeaders.clear();
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config(true), ID, BackendContext.simple("/"))) {
            ByteBuffer dst = ByteBuffer.allocate(300);
            assertThat(b.read(dst, 100)).isEqualTo(300);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, 100, 400));
        }
        String url = "http://" + origin.endpoint() + "/nydus/" + ID;
        assertThat(proxied).containsExactly("HEAD " + url + " signed=true", "GET " + url + " signed=true");
        assertThat(dragonflyHeaders).containsOnly("6/true");
    }

    @Test
    void dfdaemonForbiddenIsFinalEvenWithFallback() throws Exception {
        forbid = true;
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config(true), ID, BackendContext.simple("/"))) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(403);
                assertThat(e.isRetryable()).isFalse();
                assertThat(e.getMessage()).contains("dfdaemon 403");
            });
        } finally {
            forbid = false;
        }
    }

    @Test
    void withoutFallbackTheProxyErrorIsReported() throws Exception {
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config(false), ID, BackendContext.simple("/"))) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(502);
                assertThat(e.isRetryable()).isTrue();
            });
        }
    }

    private void awaitPings(int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (pings.get() < atLeast) {
            assertThat(System.nanoTime()).as("ping within 5 s").isLessThan(deadline);
            Thread.sleep(20);
        }
        Thread.sleep(100); // the probe's result is recorded after the response
    }

    @Test
    void pingUrlKeepsTrafficAwayFromAnUnhealthyProxyUntilItRecovers() throws Exception {
        String ping = "http://127.0.0.1:" + failingProxy.getAddress().getPort() + "/healthy";
        pingStatus = 503;
        pings.set(0);
        proxied.clear();
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config(true, ping), ID, BackendContext.simple("/"))) {
            awaitPings(1);
            ByteBuffer dst = ByteBuffer.allocate(100);
            assertThat(b.read(dst, 0)).isEqualTo(100);
            assertThat(dst.array()).isEqualTo(Arrays.copyOf(content, 100));
            assertThat(proxied).as("the unhealthy proxy is not tried").isEmpty();

            pingStatus = 200;
            awaitPings(pings.get() + 1);
            assertThat(b.read(ByteBuffer.allocate(100), 100)).isEqualTo(100);
            assertThat(proxied).as("healthy again: tried first (and its 502 falls back)").hasSize(1);
        }
        pingStatus = 503;
        pings.set(0);
        try (BlobBackend b = new S3BackendProvider(Map.of()).open(config(false, ping), ID, BackendContext.simple("/"))) {
            awaitPings(1);
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("proxy http://127.0.0.1:" + failingProxy.getAddress().getPort()
                            + " is not healthy and fallback is disabled");
        }
        int after = pings.get();
        Thread.sleep(1500);
        assertThat(pings.get()).as("no pings after close").isEqualTo(after);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.isAlive()
                && t.getName().startsWith("nydus-s3-proxy-health"));
    }
}
