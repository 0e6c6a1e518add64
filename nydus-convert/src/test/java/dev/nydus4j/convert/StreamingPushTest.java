package dev.nydus4j.convert;

import dev.nydus4j.backend.registry.ImageReference;
import dev.nydus4j.backend.registry.RegistryClient;
import dev.nydus4j.testkit.oci.LocalRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link StreamingPush} following a file while a stand-in builder appends to it, against a real docker-registry:
 * one streamed PATCH per blob, the chunked fallback when the registry refuses that, and a build that fails midway.
 */
class StreamingPushTest {
    @TempDir
    static Path tmp;
    static LocalRegistry registry;

    @BeforeAll
    static void start() throws Exception {
        LocalRegistry.assumeInstalled();
        registry = LocalRegistry.start(tmp.resolve("registry"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    private static RegistryStore store(String host, String repo) throws Exception {
        return RegistryStore.open(ImageReference.parse(host + "/" + repo + ":latest"), false, true, 0, Duration.ZERO);
    }

    /** Appends {@code data} to {@code file} in uneven pieces with pauses, as the builder does; stops after limit. */
    private static CompletableFuture<Void> build(Path file, byte[] data, int limit) {
        return CompletableFuture.runAsync(() -> {
            try (OutputStream out = Files.newOutputStream(file)) {
                Random r = new Random(1);
                int pos = 0;
                while (pos < limit) {
                    int n = Math.min(limit - pos, 1 + r.nextInt(700_000));
                    out.write(data, pos, n);
                    out.flush();
                    pos += n;
                    Thread.sleep(r.nextInt(15));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static long accessCount(String method, String repo) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            long n = registry.accessLog().stream()
                    .filter(a -> a.method().equals(method) && a.uri().startsWith("/v2/" + repo + "/")).count();
            if (n > 0 || System.nanoTime() > deadline) {
                return n;
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aGrowingFileGoesUpInOnePatchWithTheBuildersDigest() throws Exception {
        byte[] data = random(12_000_003, 21);
        String digest = RegistryClient.sha256(data);
        Path file = tmp.resolve("ok.blob");
        try (RegistryStore store = store(registry.host(), "push/ok");
             StreamingPush push = new StreamingPush(file, store.startStreamingUpload())) {
            build(file, data, data.length).get(60, TimeUnit.SECONDS);
            push.complete(digest, data.length);
            assertThat(store.blobSize(digest)).hasValue(data.length);
            try (InputStream in = store.openBlob(digest)) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
        }
        assertThat(accessCount("PATCH", "push/ok")).as("one streamed PATCH, not 8 MiB chunks").isEqualTo(1);
    }

    @Test
    void aRefusedStreamFallsBackToChunksFromTheStartOfTheFile() throws Exception {
        byte[] data = random(10_000_001, 22);
        String digest = RegistryClient.sha256(data);
        Path file = tmp.resolve("refused.blob");
        AtomicInteger patches = new AtomicInteger();
        try (FaultProxy proxy = new FaultProxy(registry.host())) {
            // the first PATCH is the streamed one: answer it as a registry that needs Content-Range would
            proxy.fault = (method, path) -> method.equals("PATCH") && patches.getAndIncrement() == 0 ? 411 : null;
            try (RegistryStore store = store(proxy.host(), "push/refused");
                 StreamingPush push = new StreamingPush(file, store.startStreamingUpload())) {
                build(file, data, data.length).get(60, TimeUnit.SECONDS);
                push.complete(digest, data.length);
            }
            assertThat(proxy.requests.stream().filter(r -> r.startsWith("PATCH "))).as(proxy.requests.toString())
                    .hasSize(1 + (data.length + StreamingPush.CHUNK_BYTES - 1) / StreamingPush.CHUNK_BYTES);
            assertThat(proxy.requests.stream().filter(r -> r.startsWith("POST "))).as("a fresh session").hasSize(2);
        }
        try (RegistryStore store = store(registry.host(), "push/refused");
             InputStream in = store.openBlob(digest)) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void aServerErrorOnTheStreamFailsNamingRepositoryBlobAndBytesSent() throws Exception {
        byte[] data = random(3_000_000, 24);
        String digest = RegistryClient.sha256(data);
        Path file = tmp.resolve("failing.blob");
        try (FaultProxy proxy = new FaultProxy(registry.host())) {
            proxy.fault = (method, path) -> method.equals("PATCH") ? 500 : null;
            try (RegistryStore store = store(proxy.host(), "push/failing");
                 StreamingPush push = new StreamingPush(file, store.startStreamingUpload())) {
                build(file, data, data.length).get(60, TimeUnit.SECONDS);
                // a 5xx is no refusal of the streamed PATCH: no chunked retry here, the caller pushes the file
                assertThatThrownBy(() -> push.complete(digest, data.length)).hasMessageContaining(digest)
                        .hasMessageContaining("push/failing").hasMessageContaining("HTTP 500")
                        .hasMessageContaining(data.length + " bytes sent");
            }
            assertThat(proxy.requests.stream().filter(r -> r.startsWith("PATCH "))).hasSize(1);
            assertThat(proxy.requests).as("the upload was cancelled").anyMatch(r -> r.startsWith("DELETE "));
        }
        try (RegistryStore store = store(registry.host(), "push/failing")) {
            assertThat(store.blobSize(digest)).isEmpty();
        }
    }

    @Test
    void aBuildThatFailsMidwayCancelsTheStreamAndLeavesNoBlob() throws Exception {
        byte[] data = random(6_000_000, 23);
        Path file = tmp.resolve("broken.blob");
        try (RegistryStore store = store(registry.host(), "push/broken")) {
            StreamingPush push = new StreamingPush(file, store.startStreamingUpload());
            build(file, data, 3_000_000).get(60, TimeUnit.SECONDS);
            // the builder failed: LayerConverter closes the push without completing it
            CompletableFuture<Void> closed = CompletableFuture.runAsync(push::close);
            closed.get(30, TimeUnit.SECONDS); // a hang here would be the stream waiting for data that never comes
            assertThatThrownBy(() -> push.complete(RegistryClient.sha256(data), data.length))
                    .hasMessageContaining("cancelled");
            assertThat(store.blobSize(RegistryClient.sha256(data))).isEmpty();
            assertThat(store.blobSize(RegistryClient.sha256(java.util.Arrays.copyOf(data, 3_000_000)))).isEmpty();
        }
        assertThat(accessCount("DELETE", "push/broken")).as("the upload was cancelled").isEqualTo(1);
    }
}
