package dev.nydus4j.backend.oss;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.backend.BackendRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The oss backend against a small OSS double that checks what s3proxy cannot: the virtual host, the {@code Date}
 * and the V1 signature of every request (recomputed from the request as a server would), and answers ranges.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OssBackendTest {
    private static final String AK = "LTAI-test-key";
    private static final String SK = "oss-secret-0123456789abcdef";
    private static final String ID = "9f".repeat(32);
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

    private final ObjectMapper json = new ObjectMapper();
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private byte[] content;

    @BeforeAll
    void start() throws IOException {
        content = new byte[50_000];
        new Random(5).nextBytes(content);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterAll
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String host = ex.getRequestHeaders().getFirst("Host");
            String date = ex.getRequestHeaders().getFirst("Date");
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String path = ex.getRequestURI().getRawPath();
            seen.add(ex.getRequestMethod() + " " + host + path + " ua=" + ex.getRequestHeaders().getFirst("User-Agent")
                    + " x-test=" + ex.getRequestHeaders().getFirst("X-Test"));
            String bucket = host.substring(0, host.indexOf('.'));
            String expected = OssSigner.authorization(AK, OssSigner.signature(SK, OssSigner.stringToSign(
                    ex.getRequestMethod(), "", "", date, Map.of(), "/" + bucket + path)));
            if (!expected.equals(auth)) {
                send(ex, 403, "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated"
                        + " does not match the signature you provided.</Message></Error>");
                return;
            }
            if (!bucket.equals("nydus") || !path.equals("/nydus/" + ID)) {
                send(ex, 404, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
                        + "</Error>");
                return;
            }
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Content-Length", String.valueOf(content.length));
                ex.sendResponseHeaders(200, -1);
                return;
            }
            Matcher m = RANGE.matcher(String.valueOf(ex.getRequestHeaders().getFirst("Range")));
            if (!m.matches()) {
                send(ex, 400, "<Error><Code>InvalidArgument</Code></Error>");
                return;
            }
            int a = Integer.parseInt(m.group(1));
            int b = Math.min(Integer.parseInt(m.group(2)), content.length - 1);
            ex.getResponseHeaders().set("Content-Range", "bytes " + a + "-" + b + "/" + content.length);
            ex.sendResponseHeaders(206, b - a + 1);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(content, a, b - a + 1);
            }
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, ex.getRequestMethod().equals("HEAD") ? -1 : b.length);
        if (!ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseBody().write(b);
        }
    }

    private String endpoint() {
        return "localhost:" + server.getAddress().getPort();
    }

    private BlobBackend open(OssConfig config, String id, Map<String, String> env) throws IOException {
        return new OssBackendProvider(env).open(config, id, BackendContext.simple("/"));
    }

    @Test
    void signedVirtualHostedRangeReads() throws IOException {
        seen.clear();
        OssConfig config = OssConfig.of("http", endpoint(), "nydus", "nydus/", AK, SK);
        try (BlobBackend b = open(config, ID, Map.of("NYDUS_HEADER_X-Test", "yes", "NYDUS_HEADER_bad name", "x"))) {
            assertThat(b.size()).isEqualTo(content.length);
            ByteBuffer dst = ByteBuffer.allocate(777);
            assertThat(b.read(dst, 40_000)).isEqualTo(777);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, 40_000, 40_777));
        }
        assertThat(seen).containsExactly(
                "HEAD " + endpoint().replace("localhost", "nydus.localhost") + "/nydus/" + ID
                        + " ua=nydusd/1.0.0 x-test=yes",
                "GET " + endpoint().replace("localhost", "nydus.localhost") + "/nydus/" + ID
                        + " ua=nydusd/1.0.0 x-test=yes");
    }

    @Test
    void wrongSecretIsAClear403WithoutTheSecret() throws IOException {
        String wrong = "not-the-oss-secret";
        try (BlobBackend b = open(OssConfig.of("http", endpoint(), "nydus", "nydus/", AK, wrong), ID, Map.of())) {
            assertThatThrownBy(b::size).isInstanceOfSatisfying(BackendException.class, e -> {
                assertThat(e.httpStatus()).isEqualTo(403);
                assertThat(e.isRetryable()).isFalse();
                assertThat(e.getMessage()).contains("oss backend", "HTTP 403", "oss://nydus/nydus/" + ID)
                        .doesNotContain(wrong).doesNotContain(SK);
            });
        }
        try (BlobBackend b = open(OssConfig.of("http", endpoint(), "nydus", "nydus/", AK, wrong), ID, Map.of())) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(8), 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("403");
        }
    }

    @Test
    void missingObjectIsFileNotFoundNamingTheBlob() throws IOException {
        String missing = "77".repeat(32);
        try (BlobBackend b = open(OssConfig.of("http", endpoint(), "nydus", "nydus/", AK, SK), missing, Map.of())) {
            assertThatThrownBy(b::size).isInstanceOf(FileNotFoundException.class).hasMessageContaining(missing)
                    .hasMessageContaining("oss://nydus/nydus/" + missing);
        }
    }

    @Test
    void bindsEveryConfigKeyThroughTheBackendRegistry() throws Exception {
        BackendRegistry backends = BackendRegistry.discover();
        assertThat(backends.types()).contains("oss");
        JsonNode node = json.readTree("""
                {"endpoint": "%s", "bucket_name": "nydus", "object_prefix": "nydus/", "scheme": "http",
                 "access_key_id": "%s", "access_key_secret": "%s", "skip_verify": true, "ca_cert_files": [],
                 "timeout": 9, "connect_timeout": 2, "retry_limit": 1,
                 "proxy": {"url": "", "ping_url": "", "fallback": true, "check_interval": 5,
                           "check_pause_elapsed": 300, "use_http": false, "dragonfly_scheduler_endpoint": ""}}
                """.formatted(endpoint(), AK, SK));
        OssConfig bound = (OssConfig) backends.bindConfig("oss", node, "backend.oss");
        assertThat(bound.skipVerify()).isTrue();
        assertThat(bound.timeoutSecs()).isEqualTo(9);
        assertThat(bound.toString()).doesNotContain(SK);
        try (BlobBackend b = backends.open("oss", node, "backend.oss", ID, BackendContext.simple("/"))) {
            ByteBuffer dst = ByteBuffer.allocate(10);
            assertThat(b.read(dst, content.length - 10)).isEqualTo(10);
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(content, content.length - 10, content.length));
            assertThat(b.read(ByteBuffer.allocate(10), content.length)).isEqualTo(-1);
        }
        OssConfig d = (OssConfig) backends.bindConfig("oss",
                json.readTree("{\"endpoint\": \"oss-cn-hangzhou.aliyuncs.com\", \"bucket_name\": \"b\"}"),
                "backend.oss");
        assertThat(d.scheme()).isEqualTo("https");
        assertThat(d.objectPrefix()).isEmpty();
        assertThat(d.connectTimeoutSecs()).isEqualTo(5);
        // an unknown key (region is S3's) is ignored with a warning, as upstream ignores it (CONFIG.md 1)
        OssConfig withUnknown = (OssConfig) backends.bindConfig("oss",
                json.readTree("{\"endpoint\": \"e\", \"bucket_name\": \"b\", \"region\": \"x\"}"), "backend.oss");
        assertThat(withUnknown.bucketName()).isEqualTo("b");
        OssBackendProvider p = new OssBackendProvider(Map.of());
        assertThatThrownBy(() -> p.validate(OssConfig.of("https", "https://oss.example.com", "b", "", "", "")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("endpoint");
        assertThatThrownBy(() -> p.validate(OssConfig.of("https", "e", "", "", "", "")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bucket_name");
    }
}
