package dev.nydus4j.backend.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.testkit.FaultServer;
import dev.nydus4j.testkit.FaultServer.Fault;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code proxy} (forward proxy with fallback and health pings, BACKENDS.md 8.1-8.2) and legacy {@code mirrors}. */
class ProxyAndMirrorTest {
    private static final String ID = "fe".repeat(32);
    private final byte[] blob = new byte[30_000];
    private FaultServer origin;
    private RangeHttpServer proxy;
    private volatile boolean proxyFails;
    private volatile boolean proxyForbids;
    private volatile int pingStatus = 200;
    private final List<String> dragonflyPriorities = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        new Random(5).nextBytes(blob);
        origin = new FaultServer(blob);
        proxy = new RangeHttpServer();
        HttpClient forward = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
        proxy.handle("/", ex -> {
            dragonflyPriorities.add(String.valueOf(ex.getRequestHeaders().getFirst("X-Dragonfly-Priority")));
            if (proxyForbids) {
                ex.getResponseHeaders().set("X-Dragonfly-Error-Type", "proxy");
                ex.sendResponseHeaders(403, -1);
                return;
            }
            if (proxyFails) {
                ex.sendResponseHeaders(502, -1);
                return;
            }
            try {
                HttpResponse<byte[]> r = forward.send(HttpRequest.newBuilder(ex.getRequestURI())
                        .header("Range", ex.getRequestHeaders().getFirst("Range")).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                r.headers().firstValue("Content-Range").ifPresent(v -> ex.getResponseHeaders().set("Content-Range", v));
                ex.sendResponseHeaders(r.statusCode(), r.body().length);
                ex.getResponseBody().write(r.body());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ex.sendResponseHeaders(500, -1);
            }
        });
        proxy.handle("/healthy", ex -> ex.sendResponseHeaders(pingStatus, -1));
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
        proxy.close();
    }

    private RegistryConfig config(String extra) throws Exception {
        String json = "{\"host\":\"" + origin.host() + "\",\"repo\":\"px/app\",\"scheme\":\"http\",\"timeout\":5,"
                + "\"connect_timeout\":2,\"retry_limit\":0" + extra + "}";
        return new ObjectMapper().readValue(json, RegistryConfig.class);
    }

    private static byte[] read(BlobBackend b, long pos, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(len);
        assertThat(b.read(dst, pos)).isEqualTo(len);
        return dst.array();
    }

    private BlobBackend open(RegistryConfig c) throws Exception {
        return new RegistryBackendProvider(Map.of()).open(c, ID, BackendContext.simple("/"));
    }

    @Test
    void blobRequestsGoThroughTheProxy() throws Exception {
        try (BlobBackend b = open(config(",\"proxy\":{\"url\":\"http://" + proxy.host() + "\"}"))) {
            assertThat(read(b, 10, 100)).isEqualTo(Arrays.copyOfRange(blob, 10, 110));
        }
        assertThat(proxy.seen).singleElement().satisfies(s ->
                assertThat(s.path()).isEqualTo("http://" + origin.host() + "/v2/px/app/blobs/sha256:" + ID));
        assertThat(dragonflyPriorities).containsExactly("6");
        assertThat(origin.seen).hasSize(1);
    }

    @Test
    void proxyFailuresFallBackToTheOriginUnlessDisabled() throws Exception {
        proxyFails = true;
        try (BlobBackend b = open(config(",\"proxy\":{\"url\":\"http://" + proxy.host() + "\"}"))) {
            assertThat(read(b, 0, 100)).isEqualTo(Arrays.copyOf(blob, 100));
        }
        assertThat(proxy.count("http://")).isEqualTo(1);
        assertThat(origin.seen).hasSize(1);
        try (BlobBackend b = open(config(",\"proxy\":{\"url\":\"http://" + proxy.host() + "\",\"fallback\":false}"))) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("HTTP 502");
        }
        assertThat(origin.seen).hasSize(1);
    }

    @Test
    void dragonflyForbiddenIsNotRetriedNorFallenBackFrom() throws Exception {
        proxyForbids = true;
        RegistryConfig c = config(",\"retry_limit\":3,\"proxy\":{\"url\":\"http://" + proxy.host() + "\"}");
        try (BlobBackend b = open(c)) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("proxy forbidden").matches(e -> !((BackendException) e).isRetryable());
        }
        assertThat(proxy.count("http://")).isEqualTo(1);
        assertThat(origin.seen).isEmpty();
    }

    @Test
    void unhealthyProxyIsBypassedUntilItRecovers() throws Exception {
        pingStatus = 503;
        String proxyJson = ",\"proxy\":{\"url\":\"http://" + proxy.host() + "\",\"ping_url\":\"http://" + proxy.host()
                + "/healthy\",\"check_interval\":1}";
        try (BlobBackend b = open(config(proxyJson))) {
            waitFor(() -> proxy.count("/healthy") >= 1);
            Thread.sleep(100);
            assertThat(read(b, 0, 50)).isEqualTo(Arrays.copyOf(blob, 50));
            assertThat(proxy.count("http://")).as("no blob request via the unhealthy proxy").isZero();
            assertThat(origin.seen).hasSize(1);

            pingStatus = 200;
            long pings = proxy.count("/healthy");
            waitFor(() -> proxy.count("/healthy") >= pings + 1);
            Thread.sleep(100);
            assertThat(read(b, 50, 50)).isEqualTo(Arrays.copyOfRange(blob, 50, 100));
            assertThat(proxy.count("http://")).isEqualTo(1);
        }
        pingStatus = 503;
        try (BlobBackend b = open(config(proxyJson.replace("\"check_interval\"", "\"fallback\":false,\"check_interval\"")))) {
            waitFor(() -> proxy.count("/healthy") >= 3);
            Thread.sleep(100);
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("proxy http://" + proxy.host() + " is not healthy and fallback is disabled");
        }
        String threadPrefix = "nydus-registry-" + origin.host();
        waitFor(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().startsWith(threadPrefix)));
        long pings = proxy.count("/healthy");
        Thread.sleep(1500);
        assertThat(proxy.count("/healthy")).as("no pings after close").isEqualTo(pings);
    }

    @Test
    void mirrorsAreTriedFirstWithTheirHeadersThenTheOrigin() throws Exception {
        try (FaultServer mirror = new FaultServer(blob)) {
            String mirrors = ",\"mirrors\":[{\"host\":\"http://" + mirror.host() + "\",\"headers\":"
                    + "{\"X-Dragonfly-Registry\":\"http://" + origin.host() + "\"},\"failure_limit\":1,"
                    + "\"health_check_interval\":60}]";
            try (BlobBackend b = open(config(mirrors))) {
                assertThat(read(b, 0, 10)).isEqualTo(Arrays.copyOf(blob, 10));
                assertThat(mirror.seen).singleElement().satisfies(s -> {
                    assertThat(s.target()).isEqualTo("/v2/px/app/blobs/sha256:" + ID);
                    assertThat(s.headers()).containsEntry("x-dragonfly-registry", "http://" + origin.host());
                });
                assertThat(origin.seen).isEmpty();

                mirror.script(Fault.RESET);
                assertThat(read(b, 10, 10)).isEqualTo(Arrays.copyOfRange(blob, 10, 20));
                assertThat(origin.seen).hasSize(1);
                assertThat(origin.seen.get(0).headers()).doesNotContainKey("x-dragonfly-registry");
                assertThat(read(b, 20, 10)).isEqualTo(Arrays.copyOfRange(blob, 20, 30));
                assertThat(mirror.seen).as("unhealthy mirror skipped").hasSize(2);
                assertThat(origin.seen).hasSize(2);
            }
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 5 s");
            }
            Thread.sleep(20);
        }
    }

    @Test
    void useHttpRewritesHttpsForTheProxyOnly() {
        URI u = ProxyRoute.withScheme(URI.create("https://reg.example/v2/a/blobs/sha256:" + ID), "http");
        assertThat(u).hasToString("http://reg.example/v2/a/blobs/sha256:" + ID);
    }
}
