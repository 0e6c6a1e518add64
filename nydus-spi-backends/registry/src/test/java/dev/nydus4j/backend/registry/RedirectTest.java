package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 3xx from the registry to blob storage (BACKENDS.md 2.5): no Authorization forwarded, host rewrite, relative
 * locations, location cache, and a redo through the registry when the cached URL expires.
 */
class RedirectTest {
    private static final String ID = "ab12".repeat(16);
    private static final String AUTH = Base64.getEncoder().encodeToString("u:pw".getBytes(StandardCharsets.UTF_8));
    private RangeHttpServer registry;
    private RangeHttpServer storage;
    private final byte[] blob = new byte[40_000];
    private final AtomicBoolean expired = new AtomicBoolean();

    @BeforeEach
    void start() throws Exception {
        new Random(11).nextBytes(blob);
        storage = new RangeHttpServer();
        storage.handle("/bucket/", ex -> {
            if (expired.getAndSet(false)) {
                ex.sendResponseHeaders(403, -1);
                return;
            }
            RangeHttpServer.serveRange(ex, blob);
        });
        registry = new RangeHttpServer();
        registry.handle("/v2/", ex -> {
            if (!("Basic " + AUTH).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"test\"");
                ex.sendResponseHeaders(401, -1);
                return;
            }
            String path = ex.getRequestURI().getPath();
            // "relative" blobs are stored on the registry host itself
            String location = path.contains("/relative/") ? "/local/" + ID + "?sig=1"
                    : "http://blobs.invalid:" + storage.port() + "/bucket/" + ID + "?X-Amz-Signature=abc";
            ex.getResponseHeaders().set("Location", location);
            ex.sendResponseHeaders(307, -1);
        });
        registry.handle("/local/", ex -> RangeHttpServer.serveRange(ex, blob));
    }

    @AfterEach
    void stop() {
        registry.close();
        storage.close();
    }

    private RegistryConfig config(String repo) {
        return new RegistryConfig(registry.host(), repo, "http", AUTH, "", "", "127.0.0.1", false, List.of(), 5, 5, 0,
                ProxyConfig.NONE, List.of());
    }

    private static byte[] read(BlobBackend b, long pos, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(len);
        assertThat(b.read(dst, pos)).isEqualTo(len);
        return dst.array();
    }

    @Test
    void redirectsWithoutAuthorizationAndCachesTheLocation() throws Exception {
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(config("org/app"), ID,
                BackendContext.simple("/"))) {
            assertThat(read(b, 0, 1000)).isEqualTo(Arrays.copyOf(blob, 1000));
            long registryCalls = registry.count("/v2/");
            assertThat(read(b, 30_000, 10_000)).isEqualTo(Arrays.copyOfRange(blob, 30_000, 40_000));
            assertThat(registry.count("/v2/")).as("second read uses the cached location").isEqualTo(registryCalls);

            expired.set(true);
            assertThat(read(b, 5, 5)).isEqualTo(Arrays.copyOfRange(blob, 5, 10));
            assertThat(registry.count("/v2/")).as("expired location redone through the registry")
                    .isEqualTo(registryCalls + 1);
        }
        assertThat(storage.seen).hasSize(4).allSatisfy(s -> {
            assertThat(s.authorization()).isNull();
            assertThat(s.path()).isEqualTo("/bucket/" + ID + "?X-Amz-Signature=abc");
        });
        assertThat(registry.seen).filteredOn(s -> s.path().startsWith("/v2/")).extracting(RangeHttpServer.Seen::authorization)
                .contains("Basic " + AUTH);
    }

    @Test
    void relativeLocationsResolveAgainstTheRegistry() throws Exception {
        RegistryConfig c = new RegistryConfig(registry.host(), "org/relative", "http", AUTH, "", "", "", false,
                List.of(), 5, 5, 0, ProxyConfig.NONE, List.of());
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(c, ID, BackendContext.simple("/"))) {
            assertThat(read(b, 100, 100)).isEqualTo(Arrays.copyOfRange(blob, 100, 200));
        }
        assertThat(registry.seen).filteredOn(s -> s.path().startsWith("/local/"))
                .singleElement().satisfies(s -> assertThat(s.authorization()).isNull());
    }
}
