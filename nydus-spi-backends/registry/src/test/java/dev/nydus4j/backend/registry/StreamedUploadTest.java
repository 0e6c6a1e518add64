package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.oci.LocalRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One streamed PATCH per blob ({@link RegistryClient.ChunkedUpload#writeStream}) against a real docker-registry,
 * and the fallback to chunked PATCHes against a real nginx in front of it that refuses a streamed PATCH (411) or
 * answers it with a Range that does not cover what was sent.
 */
class StreamedUploadTest {
    @TempDir
    static Path dir;
    static LocalRegistry registry;
    static Process nginx;
    static int refusingPort;
    static int shortRangePort;

    @BeforeAll
    static void start() throws Exception {
        LocalRegistry.assumeInstalled();
        registry = LocalRegistry.start(dir.resolve("registry"), "", "");
        if (Files.isExecutable(Path.of("/usr/sbin/nginx"))) {
            refusingPort = LocalRegistry.freePort();
            shortRangePort = LocalRegistry.freePort();
            nginx = startNginx(dir.resolve("nginx"), registry.host(), refusingPort, shortRangePort);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (nginx != null) {
            nginx.destroy();
            if (!nginx.waitFor(5, TimeUnit.SECONDS)) {
                nginx.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (registry != null) {
            registry.close();
        }
    }

    private static RegistryClient client(String host) throws IOException {
        return RegistryClient.open(RegistryConfig.of(host, "x").withTls("http", false, List.of()), Map.of());
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A stream that hands out its bytes in small, uneven reads, like a file that is still being written. */
    private static InputStream trickle(byte[] data) {
        return new InputStream() {
            int pos;

            @Override
            public int read() {
                return pos < data.length ? data[pos++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos == data.length) {
                    return -1;
                }
                int n = Math.min(Math.min(len, 1 + pos % 70_001), data.length - pos);
                System.arraycopy(data, pos, b, off, n);
                pos += n;
                return n;
            }
        };
    }

    /** Access-log lines matching {@code p}, waiting up to 5 s for at least one (lines come as responses end). */
    private static List<LocalRegistry.Access> awaitAccess(java.util.function.Predicate<LocalRegistry.Access> p)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            List<LocalRegistry.Access> hits = registry.accessLog().stream().filter(p).toList();
            if (!hits.isEmpty() || System.nanoTime() > deadline) {
                return hits;
            }
            Thread.sleep(20);
        }
    }

    /**
     * Data files of upload sessions still open in {@code repo} (a cancelled session loses its data file; the
     * registry keeps only an empty hash-state directory).
     */
    private static List<Path> leftoverUploads(String repo) throws IOException {
        Path uploads = registry.dataDir().resolve("docker/registry/v2/repositories").resolve(repo).resolve("_uploads");
        if (!Files.isDirectory(uploads)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(uploads)) {
            return s.filter(f -> f.getFileName().toString().equals("data")).toList();
        }
    }

    @Test
    void oneStreamedPatchLandsTheBlobWithItsDigest() throws Exception {
        byte[] data = random(3_000_017, 11);
        String digest = RegistryClient.sha256(data);
        try (RegistryClient c = client(registry.host());
             RegistryClient.ChunkedUpload u = c.startChunkedUpload("stream/ok")) {
            assertThat(u.writeStream(trickle(data))).isTrue();
            assertThat(u.size()).isEqualTo(data.length);
            u.finish(digest);
            assertThat(c.headBlob("stream/ok", digest)).hasValue(data.length);
            try (InputStream in = c.getBlob("stream/ok", digest)) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
        }
        assertThat(awaitAccess(a -> a.method().equals("PATCH") && a.uri().startsWith("/v2/stream/ok/")))
                .as("the whole blob in one PATCH").hasSize(1);
    }

    @Test
    void aWrongDigestIsRefusedAndNothingIsStored() throws Exception {
        byte[] data = random(500_000, 12);
        String wrong = RegistryClient.sha256(new byte[] {1});
        try (RegistryClient c = client(registry.host())) {
            RegistryClient.ChunkedUpload u = c.startChunkedUpload("stream/wrong");
            assertThat(u.writeStream(new ByteArrayInputStream(data))).isTrue();
            assertThatThrownBy(() -> u.finish(wrong)).isInstanceOf(RegistryStatusException.class)
                    .hasMessageContaining("stream/wrong").hasMessageContaining(wrong).hasMessageContaining("HTTP 400");
            u.close();
            assertThat(c.headBlob("stream/wrong", wrong)).isEmpty();
            assertThat(c.headBlob("stream/wrong", RegistryClient.sha256(data))).isEmpty();
        }
    }

    @Test
    void aStreamThatFailsMidwayLeavesNoBlobAndIsCancelled() throws Exception {
        byte[] data = random(2_000_000, 13);
        InputStream failing = new InputStream() {
            final InputStream in = trickle(data);
            long given;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (given > 1_000_000) {
                    throw new IOException("the builder failed (test)");
                }
                int n = in.read(b, off, len);
                given += Math.max(n, 0);
                return n;
            }
        };
        try (RegistryClient c = client(registry.host())) {
            RegistryClient.ChunkedUpload u = c.startChunkedUpload("stream/broken");
            assertThatThrownBy(() -> u.writeStream(failing)).isInstanceOf(IOException.class);
            u.close(); // cancels: DELETE of the upload
            assertThat(c.headBlob("stream/broken", RegistryClient.sha256(data))).isEmpty();
            // docker-registry accepts a DELETE only with the session's current _state, which a broken PATCH never
            // returned: it keeps the partial data until its upload purge, but nothing became a blob
            assertThat(awaitAccess(a -> a.method().equals("DELETE")
                    && a.uri().startsWith("/v2/stream/broken/blobs/uploads/"))).isNotEmpty();
        }
    }

    @Test
    void aRegistryThatRefusesAStreamedPatchGetsChunksInAFreshSession() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(nginx != null, "nginx is not installed");
        byte[] data = random(1_500_000, 14);
        String digest = RegistryClient.sha256(data);
        try (RegistryClient c = client("127.0.0.1:" + refusingPort)) {
            for (String repo : List.of("refused/a", "refused/b")) {
                try (RegistryClient.ChunkedUpload u = c.startChunkedUpload(repo)) {
                    assertThat(u.writeStream(trickle(data))).as(repo).isFalse();
                    assertThat(u.size()).isZero();
                    for (int off = 0; off < data.length; off += 400_000) {
                        u.write(data, off, Math.min(400_000, data.length - off));
                    }
                    u.finish(digest);
                }
                assertThat(c.headBlob(repo, digest)).hasValue(data.length);
                try (InputStream in = c.getBlob(repo, digest)) {
                    assertThat(in.readAllBytes()).isEqualTo(data);
                }
                assertThat(leftoverUploads(repo)).as("the refused session was cancelled").isEmpty();
            }
        }
        List<String> log = Files.readAllLines(dir.resolve("nginx/access.log"));
        assertThat(log.stream().filter(l -> l.contains("PATCH") && l.contains("\" 411 ")))
                .as("after one refusal the client does not try again: " + log).hasSize(1);
    }

    @Test
    void aRangeThatDoesNotCoverWhatWasSentFallsBackToChunks() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(nginx != null, "nginx is not installed");
        byte[] data = random(900_000, 15);
        String digest = RegistryClient.sha256(data);
        try (RegistryClient c = client("127.0.0.1:" + shortRangePort);
             RegistryClient.ChunkedUpload u = c.startChunkedUpload("short/range")) {
            assertThat(u.writeStream(new ByteArrayInputStream(data))).isFalse();
            u.write(data, 0, data.length);
            u.finish(digest);
            try (InputStream in = c.getBlob("short/range", digest)) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
        }
        assertThat(leftoverUploads("short/range")).isEmpty();
    }

    /**
     * nginx with two servers in front of the registry: one answers a PATCH without Content-Range with 411 (as
     * registries that only take Content-Range chunks), the other passes it on but replaces the Range of the answer
     * with {@code 0-0}.
     */
    private static Process startNginx(Path d, String origin, int refusing, int shortRange) throws Exception {
        Path abs = d.toAbsolutePath();
        Files.createDirectories(abs.resolve("tmp"));
        String p = abs.toString();
        String proxy = "proxy_pass http://" + origin + "; proxy_set_header Host $http_host; proxy_http_version 1.1;"
                + " proxy_request_buffering off; proxy_buffering off;";
        String conf = ("root".equals(System.getProperty("user.name")) ? "user root;\n" : "")
                + "worker_processes 1;\npid " + p + "/nginx.pid;\nerror_log " + p + "/error.log warn;\n"
                + "events { worker_connections 64; }\n"
                + "http {\n"
                + "  client_body_temp_path " + p + "/tmp/body; proxy_temp_path " + p + "/tmp/proxy;\n"
                + "  fastcgi_temp_path " + p + "/tmp/fcgi; uwsgi_temp_path " + p + "/tmp/uwsgi; scgi_temp_path " + p
                + "/tmp/scgi;\n"
                + "  access_log " + p + "/access.log;\n"
                + "  client_max_body_size 0;\n"
                + "  map \"$request_method:$http_content_range\" $streamed { \"PATCH:\" 1; default 0; }\n"
                + "  map $streamed $answer_range { 1 \"0-0\"; default $upstream_http_range; }\n"
                + "  server {\n    listen 127.0.0.1:" + refusing + ";\n"
                + "    location / { if ($streamed) { return 411; } " + proxy + " }\n  }\n"
                + "  server {\n    listen 127.0.0.1:" + shortRange + ";\n"
                + "    location / { " + proxy + " proxy_hide_header Range; add_header Range $answer_range always; }\n"
                + "  }\n}\n";
        Files.writeString(abs.resolve("nginx.conf"), conf);
        Process n = new ProcessBuilder("/usr/sbin/nginx", "-p", p, "-c", abs.resolve("nginx.conf").toString(), "-g",
                "daemon off;").redirectErrorStream(true).redirectOutput(abs.resolve("stdout.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (int port : new int[] {refusing, shortRange}) {
            while (true) {
                if (!n.isAlive()) {
                    throw new IOException("nginx exited with " + n.exitValue() + ": "
                            + Files.readString(abs.resolve("stdout.log")));
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    break;
                } catch (IOException notYet) {
                    if (System.nanoTime() > deadline) {
                        n.destroyForcibly();
                        throw new IOException("nginx did not listen on " + port + " within 15 s");
                    }
                    Thread.sleep(20);
                }
            }
        }
        return n;
    }
}
