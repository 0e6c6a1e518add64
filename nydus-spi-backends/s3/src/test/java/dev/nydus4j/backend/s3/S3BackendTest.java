package dev.nydus4j.backend.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.backend.BackendRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.FileNotFoundException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The s3 backend against s3proxy: credentials errors, missing objects, prefixes, config binding. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3BackendTest {
    private static final String ID = "ab".repeat(32);
    private final ObjectMapper json = new ObjectMapper();
    private S3ProxyServer server;
    private byte[] content;

    @BeforeAll
    void start() throws Exception {
        server = new S3ProxyServer("nydus", "other");
        content = new byte[70_000];
        new Random(3).nextBytes(content);
        server.put("nydus", ID, content);
        server.put("nydus", "my blobs/v1+x/" + ID, content);
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    private BlobBackend open(S3Config config, String id) throws Exception {
        return new S3BackendProvider(Map.of()).open(config, id, BackendContext.simple("/"));
    }

    private S3Config config(String bucket, String prefix, String secret) {
        return S3Config.of("http", server.endpoint(), S3ProxyServer.REGION, bucket, prefix, S3ProxyServer.ACCESS_KEY,
                secret);
    }

    @Test
    void wrongSecretIsAClear403WithoutTheSecret() throws Exception {
        String wrong = "wrong-secret-value-42";
        try (BlobBackend b = open(config("nydus", "", wrong), ID)) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(403);
                assertThat(e.isRetryable()).isFalse();
                assertThat(e.getMessage()).contains("s3 backend", "HTTP 403", "s3://nydus/" + ID, "access_key_secret")
                        .doesNotContain(wrong).doesNotContain(S3ProxyServer.SECRET);
            });
        }
        // a GET (not only the HEAD) is refused as well, naming the range
        try (BlobBackend b = open(config("nydus", "", wrong), ID)) {
            S3Config good = config("nydus", "", S3ProxyServer.SECRET);
            try (BlobBackend sized = open(good, ID)) {
                assertThat(sized.size()).isEqualTo(content.length);
            }
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("403");
        }
    }

    @Test
    void readsRangesAndSizeWithAPrefixThatNeedsEncoding() throws Exception {
        try (BlobBackend b = open(config("nydus", "my blobs/v1+x/", S3ProxyServer.SECRET), ID)) {
            assertThat(b.size()).isEqualTo(content.length);
            ByteBuffer dst = ByteBuffer.allocateDirect(5000);
            assertThat(b.read(dst, 1234)).isEqualTo(5000);
            byte[] got = new byte[5000];
            dst.flip().get(got);
            assertThat(got).isEqualTo(Arrays.copyOfRange(content, 1234, 6234));
        }
    }

    @Test
    void missingObjectAndMissingBucketAreFileNotFound() throws Exception {
        String missing = "cd".repeat(32);
        try (BlobBackend b = open(config("nydus", "", S3ProxyServer.SECRET), missing)) {
            assertThatThrownBy(b::size).isInstanceOf(FileNotFoundException.class).hasMessageContaining(missing)
                    .hasMessageContaining("s3://nydus/" + missing);
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(4), 0)).isInstanceOf(FileNotFoundException.class);
        }
        try (BlobBackend b = open(config("other", "", S3ProxyServer.SECRET), ID)) {
            assertThatThrownBy(b::size).isInstanceOf(FileNotFoundException.class).hasMessageContaining(ID);
        }
    }

    @Test
    void anonymousRequestsAreRefusedByAnAuthenticatingServer() throws Exception {
        try (BlobBackend b = open(S3Config.of("http", server.endpoint(), "us-east-1", "nydus", "", "", ""), ID)) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class,
                    e -> assertThat(e.httpStatus()).isEqualTo(403));
        }
    }

    @Test
    void bindsEveryConfigKeyThroughTheBackendRegistry() throws Exception {
        BackendRegistry backends = BackendRegistry.discover();
        assertThat(backends.types()).contains("s3");
        JsonNode node = json.readTree("""
                {"region": "us-east-1", "bucket_name": "nydus", "endpoint": "%s", "object_prefix": "",
                 "scheme": "http", "access_key_id": "%s", "access_key_secret": "%s", "skip_verify": false,
                 "ca_cert_files": [], "timeout": 7, "connect_timeout": 3, "retry_limit": 2,
                 "proxy": {"url": "", "ping_url": "", "fallback": false, "check_interval": 5,
                           "check_pause_elapsed": 300, "use_http": false, "dragonfly_scheduler_endpoint": ""}}
                """.formatted(server.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET));
        S3Config bound = (S3Config) backends.bindConfig("s3", node, "backend.s3");
        assertThat(bound.timeoutSecs()).isEqualTo(7);
        assertThat(bound.connectTimeoutSecs()).isEqualTo(3);
        assertThat(bound.retryLimit()).isEqualTo(2);
        assertThat(bound.proxy().fallback()).isFalse();
        assertThat(bound.toString()).doesNotContain(S3ProxyServer.SECRET).contains("<redacted>");
        try (BlobBackend b = backends.open("s3", node, "backend.s3", ID, BackendContext.simple("/"))) {
            ByteBuffer dst = ByteBuffer.allocate(100);
            assertThat(b.read(dst, content.length - 100)).isEqualTo(100);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, content.length - 100, content.length));
        }
    }

    @Test
    void defaultsAndValidation() throws Exception {
        S3Config d = (S3Config) BackendRegistry.discover().bindConfig("s3",
                json.readTree("{\"region\": \"eu-west-1\", \"bucket_name\": \"b\"}"), "backend.s3");
        assertThat(d.endpoint()).isEqualTo("s3.amazonaws.com");
        assertThat(d.scheme()).isEqualTo("https");
        assertThat(d.timeoutSecs()).isEqualTo(5);
        assertThat(d.connectTimeoutSecs()).isEqualTo(5);
        assertThat(d.proxy().fallback()).isTrue();
        assertThat(d.caCertFiles()).isEqualTo(List.of());
        // an unknown key is ignored with a warning, as upstream ignores it (CONFIG.md 1)
        S3Config withUnknown = (S3Config) BackendRegistry.discover().bindConfig("s3",
                json.readTree("{\"region\": \"r\", \"bucket_name\": \"b\", \"bucket\": \"x\"}"), "backend.s3");
        assertThat(withUnknown.bucketName()).isEqualTo("b");
        S3BackendProvider p = new S3BackendProvider(Map.of());
        assertThatThrownBy(() -> p.validate(S3Config.of("http", "http://minio:9000", "r", "b", "", "", "")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("endpoint");
        assertThatThrownBy(() -> p.validate(S3Config.of("http", "", "", "b", "", "", "")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("region");
        assertThatThrownBy(() -> p.validate(S3Config.of("ftp", "", "r", "b", "", "", "")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scheme");
    }

    @Test
    void closeStopsReads() throws Exception {
        BlobBackend b = open(config("nydus", "", S3ProxyServer.SECRET), ID);
        assertThat(b.size()).isEqualTo(content.length);
        b.close();
        assertThatThrownBy(() -> b.read(ByteBuffer.allocate(1), 0)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void blobsOfOneConfigShareAClientThatOutlivesEachOfThem() throws Exception {
        S3BackendProvider provider = new S3BackendProvider(Map.of());
        S3Config config = config("nydus", "", S3ProxyServer.SECRET);
        BlobBackend first = provider.open(config, ID, BackendContext.simple("/"));
        BlobBackend second = provider.open(config, ID, BackendContext.simple("/"));
        assertThat(first.size()).isEqualTo(content.length);
        first.close();
        ByteBuffer dst = ByteBuffer.allocate(64);
        assertThat(second.read(dst, 64)).isEqualTo(64);
        assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, 64, 128));
        second.close();
        second.close();
        try (BlobBackend third = provider.open(config, ID, BackendContext.simple("/"))) {
            assertThat(third.read(ByteBuffer.allocate(8), 0)).isEqualTo(8);
        }
    }
}
