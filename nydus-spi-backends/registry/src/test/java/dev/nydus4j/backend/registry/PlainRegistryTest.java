package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.oci.LocalRegistry;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RegistryClient pushes, the backend reads ranges back, against a real plain-http docker-registry. */
class PlainRegistryTest {
    @TempDir
    static Path dir;
    static LocalRegistry registry;
    static byte[] blob;
    static String blobId;

    @BeforeAll
    static void start() throws Exception {
        LocalRegistry.assumeInstalled();
        registry = LocalRegistry.start(dir.resolve("registry"), "", "");
        long seed = System.nanoTime();
        System.out.println("PlainRegistryTest seed " + seed);
        blob = new byte[300_001];
        new Random(seed).nextBytes(blob);
        try (RegistryClient client = RegistryClient.open(plain(), Map.of())) {
            blobId = client.pushBlob("test/plain", blob).substring("sha256:".length());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    static RegistryConfig plain() {
        return RegistryConfig.of(registry.host(), "test/plain").withTls("http", false, java.util.List.of());
    }

    private static BlobBackend open(RegistryConfig config, String id) throws Exception {
        return new RegistryBackendProvider(Map.of()).open(config, id, BackendContext.simple("/"));
    }

    private static byte[] read(BlobBackend b, long pos, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(len);
        assertThat(b.read(dst, pos)).isEqualTo(len);
        return dst.array();
    }

    @Test
    void readsRangesAtTheEdges() throws Exception {
        try (BlobBackend b = open(plain(), blobId)) {
            assertThat(b.size()).isEqualTo(blob.length);
            assertThat(read(b, 0, 1)).containsExactly(blob[0]);
            assertThat(read(b, 0, 4096)).isEqualTo(Arrays.copyOfRange(blob, 0, 4096));
            assertThat(read(b, 12345, 70000)).isEqualTo(Arrays.copyOfRange(blob, 12345, 82345));
            assertThat(read(b, blob.length - 1, 1)).containsExactly(blob[blob.length - 1]);
            assertThat(read(b, 0, blob.length)).isEqualTo(blob);
            assertThat(b.read(ByteBuffer.allocate(10), blob.length)).isEqualTo(-1);
            ByteBuffer pastEnd = ByteBuffer.allocate(11);
            assertThatThrownBy(() -> b.read(pastEnd, blob.length - 10))
                    .isInstanceOf(BackendException.class)
                    .hasMessageContaining("past the end of the blob (size " + blob.length + ")")
                    .hasMessageContaining(registry.host()).hasMessageContaining("test/plain")
                    .hasMessageContaining(blobId).hasMessageContaining("bytes=" + (blob.length - 10) + "-" + blob.length)
                    .matches(e -> !((BackendException) e).isRetryable());
            assertThat(pastEnd.position()).isZero();
        }
    }

    @Test
    void concurrentReadsShareOneConnection() throws Exception {
        RegistryBackendProvider provider = new RegistryBackendProvider(Map.of());
        try (BlobBackend a = provider.open(plain(), blobId, BackendContext.simple("/"));
             BlobBackend b = provider.open(plain(), blobId, BackendContext.simple("/"))) {
            Thread[] threads = new Thread[8];
            Throwable[] failures = new Throwable[threads.length];
            for (int t = 0; t < threads.length; t++) {
                int idx = t;
                threads[t] = new Thread(() -> {
                    try {
                        for (int i = 0; i < 20; i++) {
                            int pos = (idx * 7919 + i * 4099) % (blob.length - 1000);
                            byte[] got = read(idx % 2 == 0 ? a : b, pos, 1000);
                            assertThat(got).isEqualTo(Arrays.copyOfRange(blob, pos, pos + 1000));
                        }
                    } catch (Throwable e) {
                        failures[idx] = e;
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertThat(failures).containsOnlyNulls();
        }
    }

    @Test
    void missingBlobIsNotFound() throws Exception {
        String missing = "ab".repeat(32);
        try (BlobBackend b = open(plain(), missing)) {
            assertThatThrownBy(b::size).isInstanceOf(FileNotFoundException.class).hasMessageContaining(missing);
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("HTTP 404").hasMessageContaining(missing)
                    .matches(e -> ((BackendException) e).httpStatus() == 404);
        }
    }

    @Test
    void httpsFallsBackToHttpOnlyWithSkipVerify() throws Exception {
        RegistryConfig auto = plain().withTls("", true, java.util.List.of());
        try (BlobBackend b = open(auto, blobId)) {
            assertThat(read(b, 100, 200)).isEqualTo(Arrays.copyOfRange(blob, 100, 300));
            assertThat(b.toString()).contains(registry.host());
        }
        RegistryConfig strict = plain().withTls("", false, java.util.List.of());
        try (BlobBackend b = open(strict, blobId)) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("https://" + registry.host()).hasMessageContaining(blobId);
        }
    }

    @Test
    void clientPushesChunkedMountsAndFetchesManifests() throws Exception {
        Path file = dir.resolve("chunked.bin");
        byte[] data = new byte[250_000];
        new Random(7).nextBytes(data);
        Files.write(file, data);
        String digest = RegistryClient.sha256(data);
        try (RegistryClient client = RegistryClient.open(plain(), Map.of())) {
            assertThat(client.headBlob("test/chunked", digest)).isEmpty();
            client.pushBlobChunked("test/chunked", digest, file, 64 * 1024);
            assertThat(client.headBlob("test/chunked", digest)).hasValue(data.length);
            assertThat(client.pushBlob("test/chunked", digest, file)).isFalse();
            try (InputStream in = client.getBlob("test/chunked", digest)) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
            assertThat(client.mountBlob("test/mounted", digest, "test/chunked")).isTrue();
            assertThat(client.headBlob("test/mounted", digest)).hasValue(data.length);
            assertThat(client.mountBlob("test/mounted2", "sha256:" + "0".repeat(64), "test/chunked")).isFalse();

            String config = client.pushBlob("test/chunked", "{}".getBytes(StandardCharsets.UTF_8));
            String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + RegistryClient.OCI_MANIFEST + "\","
                    + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + config
                    + "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                    + "\"digest\":\"" + digest + "\",\"size\":" + data.length + "}]}";
            byte[] mbytes = manifest.getBytes(StandardCharsets.UTF_8);
            String mdigest = client.pushManifest("test/chunked", "v1", RegistryClient.OCI_MANIFEST, mbytes);
            RegistryManifest got = client.getManifest(ImageReference.parse(registry.host() + "/test/chunked:v1"));
            assertThat(got.bytes()).isEqualTo(mbytes);
            assertThat(got.mediaType()).isEqualTo(RegistryClient.OCI_MANIFEST);
            assertThat(got.digest()).isEqualTo(mdigest);
            assertThat(client.getManifest("test/chunked", mdigest).bytes()).isEqualTo(mbytes);
            assertThatThrownBy(() -> client.getManifest("test/chunked", "nope"))
                    .isInstanceOf(RegistryStatusException.class).hasMessageContaining("HTTP 404")
                    .hasMessageContaining("test/chunked:nope");
        }
    }
}
