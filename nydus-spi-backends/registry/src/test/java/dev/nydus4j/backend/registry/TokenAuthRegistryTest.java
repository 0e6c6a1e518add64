package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import dev.nydus4j.testkit.oci.TokenServer;
import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A docker-registry trusting an in-test token server (Bearer JWT flow of BACKENDS.md 2.3-2.4). */
class TokenAuthRegistryTest {
    @TempDir
    static Path dir;
    static TokenServer tokens;
    static LocalRegistry registry;
    static byte[] blob;
    static String blobId;

    @BeforeAll
    static void start() throws Exception {
        LocalRegistry.assumeInstalled();
        tokens = new TokenServer(dir.resolve("token"));
        registry = LocalRegistry.start(dir.resolve("registry"), "", tokens.registryAuthYaml());
        blob = new byte[200_000];
        new Random(3).nextBytes(blob);
        try (RegistryClient client = RegistryClient.open(config(), Map.of())) {
            blobId = client.pushBlob("tok/app", blob).substring("sha256:".length());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (tokens != null) {
            tokens.close();
        }
    }

    @BeforeEach
    void reset() {
        tokens.calls.clear();
        tokens.rejectPost = false;
        tokens.expiresInSecs = 300;
    }

    @Test
    void tokensAreRefreshedBeforeTheyExpire() throws Exception {
        tokens.expiresInSecs = 21; // refresh due at max(5 s, 21 - 20 - jitter)
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(config(), blobId,
                BackendContext.simple("/refresh"))) {
            ByteBuffer dst = ByteBuffer.allocate(10);
            b.read(dst, 0);
            assertThat(tokens.calls).hasSize(1);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (tokens.calls.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(tokens.calls).as("proactive refresh without any read").hasSize(2);
            b.read(ByteBuffer.allocate(10), 10);
            assertThat(tokens.calls).as("the refreshed token is used").hasSize(2);
        }
    }

    static RegistryConfig config() {
        return RegistryConfig.of(registry.host(), "tok/app").withTls("http", false, List.of());
    }

    @Test
    void concurrentFirstReadsFetchOneToken() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(config(), blobId, BackendContext.simple("/"))) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int pos = i * 10_000;
                results.add(pool.submit(() -> {
                    go.await();
                    ByteBuffer dst = ByteBuffer.allocate(5000);
                    b.read(dst, pos);
                    return dst.array();
                }));
            }
            go.countDown();
            for (int i = 0; i < 8; i++) {
                assertThat(results.get(i).get()).isEqualTo(Arrays.copyOfRange(blob, i * 10_000, i * 10_000 + 5000));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(tokens.calls).hasSize(1);
        TokenServer.Call call = tokens.calls.get(0);
        assertThat(call.method()).isEqualTo("POST");
        assertThat(call.body()).contains("service=" + TokenServer.SERVICE)
                .contains("scope=repository%3Atok%2Fapp%3Apull").contains("client_id=nydus-registry-client");
        assertThat(call.authorization()).isNull();
    }

    @Test
    void blobsOfOneProviderShareTheTokenUntilTheLastIsClosed() throws Exception {
        RegistryBackendProvider provider = new RegistryBackendProvider(Map.of());
        BlobBackend first = provider.open(config(), blobId, BackendContext.simple("/shared"));
        try (BlobBackend second = provider.open(config(), blobId, BackendContext.simple("/shared"))) {
            first.read(ByteBuffer.allocate(10), 0);
            first.close();
            first.close();
            second.read(ByteBuffer.allocate(10), 10);
            assertThatThrownBy(() -> first.read(ByteBuffer.allocate(1), 0)).hasMessageContaining("closed");
        }
        assertThat(tokens.calls).hasSize(1);
        try (BlobBackend third = provider.open(config(), blobId, BackendContext.simple("/shared"))) {
            third.read(ByteBuffer.allocate(10), 20);
        }
        assertThat(tokens.calls).as("a new connection after the last close").hasSize(2);
    }

    @Test
    void postRejectedFallsBackToGetAndRemembersIt() throws Exception {
        tokens.rejectPost = true;
        String other = RegistryClient.sha256(new byte[]{1, 2, 3});
        try (RegistryClient client = RegistryClient.open(config(), Map.of());
             BlobBackend b = new RegistryBackendProvider(Map.of()).open(config().withCredentials("u", "p"), blobId,
                     BackendContext.simple("/get"))) {
            ByteBuffer dst = ByteBuffer.allocate(100);
            b.read(dst, 0);
            assertThat(dst.array()).isEqualTo(Arrays.copyOf(blob, 100));
            assertThat(tokens.calls).extracting(TokenServer.Call::method).containsExactly("POST", "GET");
            assertThat(tokens.calls.get(1).query()).contains("scope=repository%3Atok%2Fapp%3Apull");
            assertThat(tokens.calls.get(1).authorization()).isEqualTo("Basic dTpw");

            // a push needs a new scope: POST is skipped for this realm from now on in the same client
            client.headBlob("tok/app", other);
            client.pushBlob("tok/other", new byte[]{1, 2, 3});
            long posts = tokens.count("POST");
            client.pushBlob("tok/third", new byte[]{4, 5});
            assertThat(tokens.count("POST")).isEqualTo(posts);
        }
    }

    @Test
    void preseededRegistryTokenIsUsedAndReplacedWhenRejected() throws Exception {
        RegistryConfig withBadToken = new RegistryConfig(registry.host(), "tok/app", "http", "", "not-a-valid-jwt",
                "", "", false, List.of(), 5, 5, 0, ProxyConfig.NONE, List.of());
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(withBadToken, blobId,
                BackendContext.simple("/seed"))) {
            ByteBuffer dst = ByteBuffer.allocate(64);
            b.read(dst, 1000);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(blob, 1000, 1064));
        }
        assertThat(tokens.calls).hasSize(1);
    }

    @Test
    void tokenForAnotherRepositoryDoesNotReachTheBlob() throws Exception {
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(config().withImage(registry.host(), "tok/none"),
                blobId, BackendContext.simple("/scope"))) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("tok/none").hasMessageContaining("HTTP 404");
        }
    }
}
