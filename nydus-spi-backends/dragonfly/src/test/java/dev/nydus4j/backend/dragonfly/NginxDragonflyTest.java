package dev.nydus4j.backend.dragonfly;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.backend.registry.RegistryBackendProvider;
import dev.nydus4j.backend.registry.RegistryClient;
import dev.nydus4j.backend.registry.RegistryConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.testkit.oci.NginxProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A real nginx caching proxy standing in for dfdaemon (TESTING.md 4) in front of a real docker-registry, for the
 * registry backend's {@code proxy} and for the dragonfly backend (registry origin and blob_url origin): blobs are
 * served via nginx (its access log shows MISS then HIT, and the registry only sees nginx's 1 MiB slice fetches);
 * with nginx stopped, reads fall back to the registry ({@code fallback: true}, the registry log then shows our own
 * small ranges) or fail clearly ({@code fallback: false}); once nginx is back, the health ping brings traffic back
 * to it after {@code check_interval}. The same with legacy {@code mirrors} and nginx in mirror mode. No health-ping
 * thread outlives the backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NginxDragonflyTest {
    private static final String REPO = "df/app";
    private static final int SLICE = 1 << 20;

    enum Route { REGISTRY_PROXY, DRAGONFLY_REGISTRY, DRAGONFLY_BLOB_URL }

    private Path dir;
    private LocalRegistry registry;
    private NginxProxy nginx;
    private byte[] blob;
    private String blobId;

    @BeforeAll
    void startRegistry() throws Exception {
        LocalRegistry.assumeInstalled();
        NginxProxy.assumeInstalled();
        dir = Files.createTempDirectory("nginx-dragonfly");
        registry = LocalRegistry.start(dir.resolve("registry"));
        blob = new byte[3 * SLICE + 12_345];
        new Random(11).nextBytes(blob);
        try (RegistryClient c = RegistryClient.open(RegistryConfig.of(registry.host(), REPO)
                .withTls("http", false, List.of()), Map.of())) {
            blobId = c.pushBlob(REPO, blob).substring("sha256:".length());
        }
    }

    @AfterEach
    void stopNginx() throws Exception {
        if (nginx != null) {
            nginx.close();
            nginx = null;
        }
    }

    @AfterAll
    void stopRegistry() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private BlobBackend open(Route route, boolean fallback) throws IOException {
        String proxy = "\"proxy\":{\"url\":\"" + nginx.url() + "\",\"ping_url\":\"" + nginx.pingUrl() + "\","
                + "\"check_interval\":1,\"fallback\":" + fallback + "}";
        String http = "\"timeout\":5,\"connect_timeout\":1,\"retry_limit\":0";
        String registryKeys = "\"host\":\"" + registry.host() + "\",\"repo\":\"" + REPO + "\",\"scheme\":\"http\","
                + http;
        ObjectMapper json = new ObjectMapper();
        BackendContext ctx = BackendContext.simple("/");
        return switch (route) {
            case REGISTRY_PROXY -> new RegistryBackendProvider(Map.of()).open(
                    json.readValue("{" + registryKeys + "," + proxy + "}", RegistryConfig.class), blobId, ctx);
            case DRAGONFLY_REGISTRY -> new DragonflyBackendProvider(Map.of()).open(
                    json.readValue("{" + proxy + ",\"registry\":{" + registryKeys + "}}", DragonflyConfig.class),
                    blobId, ctx);
            case DRAGONFLY_BLOB_URL -> new DragonflyBackendProvider(Map.of()).open(
                    json.readValue("{" + proxy + ",\"blob_url\":\"http://" + registry.host() + "/v2/" + REPO
                            + "/blobs/sha256:{blob_id}\"," + http + "}", DragonflyConfig.class), blobId, ctx);
        };
    }

    private void readAndCheck(BlobBackend b, long pos, int len) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(len);
        assertThat(b.read(dst, pos)).isEqualTo(len);
        assertThat(dst.array()).as("bytes at %d", pos).isEqualTo(Arrays.copyOfRange(blob, (int) pos, (int) pos + len));
    }

    /** Registry GETs of our blob with exactly {@code bytes} bytes (ours are small ranges, nginx's whole slices). */
    private long registryGets(long bytes) throws InterruptedException {
        Thread.sleep(50); // the registry logs a request after it completed
        return registry.accessLog().stream().filter(a -> a.isBlobGet(blobId) && a.bytes() == bytes).count();
    }

    private List<NginxProxy.Access> nginxBlobLog() throws IOException, InterruptedException {
        Thread.sleep(50);
        return nginx.blobAccesses().stream().filter(a -> a.uri().endsWith(blobId)).toList();
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void servedViaNginxFallsBackWhenItIsDownAndReturnsWhenItIsBack(Route route) throws Exception {
        nginx = NginxProxy.start(dir.resolve("nginx-" + route + "-fallback"), registry.host());
        long slicesBefore = registryGets(SLICE);
        long directBefore = registryGets(100);
        try (BlobBackend b = open(route, true)) {
            readAndCheck(b, 100, 100);
            readAndCheck(b, 300, 100);
            assertThat(nginxBlobLog()).extracting(NginxProxy.Access::cacheStatus).containsExactly("MISS", "HIT");
            assertThat(nginxBlobLog()).allSatisfy(a -> {
                assertThat(a.range()).startsWith("bytes=");
                assertThat(a.dragonflyPriority()).isEqualTo("6");
            });
            assertThat(registryGets(SLICE) - slicesBefore).as("nginx fetched one slice from the registry")
                    .isLessThanOrEqualTo(1);
            assertThat(registryGets(100)).as("no direct read of ours reached the registry").isEqualTo(directBefore);

            nginx.stop();
            readAndCheck(b, 2L * SLICE + 5, 100); // per-request fallback: connection refused -> direct
            Thread.sleep(1500);                   // the ping marks the proxy unhealthy: direct without trying it
            readAndCheck(b, 2L * SLICE + 205, 100);
            assertThat(registryGets(100)).as("direct reads while nginx is down").isEqualTo(directBefore + 2);

            nginx.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            int before = nginxBlobLog().size();
            long t0 = System.nanoTime();
            while (nginxBlobLog().size() == before) {
                assertThat(System.nanoTime()).as("traffic back to nginx within check_interval + slack")
                        .isLessThan(deadline);
                readAndCheck(b, 400, 100);
                Thread.sleep(100);
            }
            System.out.printf("%s: back to nginx %d ms after its restart%n", route,
                    (System.nanoTime() - t0) / 1_000_000);
            assertThat(nginxBlobLog()).last().satisfies(a -> assertThat(a.cacheStatus()).isEqualTo("HIT"));
        }
        assertNoBackendThreads();
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void withoutFallbackAStoppedProxyFailsClearlyAndRecovers(Route route) throws Exception {
        nginx = NginxProxy.start(dir.resolve("nginx-" + route + "-nofallback"), registry.host());
        try (BlobBackend b = open(route, false)) {
            readAndCheck(b, 1000, 10);
            long directBefore = registryGets(10);
            nginx.stop();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 2000)).isInstanceOf(BackendException.class)
                    .hasMessageContaining(blobId).hasMessageContaining("127.0.0.1:" + nginx.port());
            // within check_interval (1 s) + slack the ping marks it unhealthy: refused without trying it
            String unhealthy = "proxy " + nginx.url() + " is not healthy and fallback is disabled";
            while (true) {
                BackendException e = org.junit.jupiter.api.Assertions.assertThrows(BackendException.class,
                        () -> b.read(ByteBuffer.allocate(10), 3000));
                if (e.getMessage().contains(unhealthy)) {
                    break;
                }
                assertThat(e).hasMessageContaining("127.0.0.1:" + nginx.port());
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("unhealthy within 5 s")
                        .isLessThan(Duration.ofSeconds(5));
                Thread.sleep(100);
            }
            assertThat(registryGets(10)).as("nothing went direct").isEqualTo(directBefore);

            nginx.start();
            long t1 = System.nanoTime();
            while (true) { // healthy again after the next ping
                ByteBuffer dst = ByteBuffer.allocate(10);
                try {
                    assertThat(b.read(dst, 4000)).isEqualTo(10);
                    assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(blob, 4000, 4010));
                    break;
                } catch (BackendException e) {
                    assertThat(e).hasMessageContaining(unhealthy);
                    assertThat(Duration.ofNanos(System.nanoTime() - t1)).as("recovered within 5 s")
                            .isLessThan(Duration.ofSeconds(5));
                    Thread.sleep(100);
                }
            }
            assertThat(nginxBlobLog()).hasSize(2);
        }
        assertNoBackendThreads();
    }

    /** Threads of the backend's connection (health pings) must be gone once it is closed. */
    private void assertNoBackendThreads() throws InterruptedException {
        String prefix = "nydus-registry-" + registry.host();
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.isAlive()
                && t.getName().startsWith(prefix))) {
            assertThat(System.nanoTime()).as("health-ping thread ended after close").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /**
     * Legacy {@code mirrors} (BACKENDS.md 8.4, still what the Dragonfly docs show) with nginx in mirror mode: the
     * request goes to nginx's host with {@code X-Dragonfly-Registry}; a stopped nginx is skipped after
     * {@code failure_limit} transport failures (reads go to the registry); once its ping answers again it is used.
     */
    @org.junit.jupiter.api.Test
    void registryMirrorsWithNginxInMirrorMode() throws Exception {
        nginx = NginxProxy.start(dir.resolve("nginx-mirror"), registry.host());
        String json = "{\"host\":\"" + registry.host() + "\",\"repo\":\"" + REPO + "\",\"scheme\":\"http\","
                + "\"timeout\":5,\"connect_timeout\":1,\"retry_limit\":0,\"mirrors\":[{\"host\":\"" + nginx.url()
                + "\",\"ping_url\":\"" + nginx.pingUrl() + "\",\"headers\":{\"X-Dragonfly-Registry\":\"http://"
                + registry.host() + "\"},\"failure_limit\":1,\"health_check_interval\":1}]}";
        long directBefore = registryGets(50);
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(new ObjectMapper().readValue(json,
                RegistryConfig.class), blobId, BackendContext.simple("/"))) {
            readAndCheck(b, 7, 50);
            readAndCheck(b, 70, 50);
            assertThat(nginxBlobLog()).extracting(NginxProxy.Access::cacheStatus).containsExactly("MISS", "HIT");
            assertThat(nginxBlobLog()).allSatisfy(a -> assertThat(a.host()).isEqualTo("127.0.0.1:" + nginx.port()));

            nginx.stop();
            readAndCheck(b, SLICE + 7, 50); // transport failure: marked unhealthy (failure_limit 1), origin used
            readAndCheck(b, SLICE + 70, 50);
            assertThat(registryGets(50)).as("direct reads while nginx is down").isEqualTo(directBefore + 2);

            nginx.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            int before = nginxBlobLog().size();
            while (nginxBlobLog().size() == before) {
                assertThat(System.nanoTime()).as("mirror used again within health_check_interval + slack")
                        .isLessThan(deadline);
                readAndCheck(b, 170, 50);
                Thread.sleep(100);
            }
        }
        assertNoBackendThreads();
    }
}
