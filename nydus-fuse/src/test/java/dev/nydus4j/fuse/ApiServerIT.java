package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.testkit.TreeGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The nydusd HTTP API over a Unix socket, with two images mounted in one daemon (root + FUSE only). */
class ApiServerIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;
    private NydusDaemon daemon;
    private ApiServer api;
    private ApiClient client;
    private final CountDownLatch exited = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(TreeGenerator.isRoot() && Files.exists(Path.of("/dev/fuse")), "needs root and FUSE");
        Path mp = Files.createDirectories(tmp.resolve("mnt"));
        daemon = NydusDaemon.start(null, null, mp, BackendRegistry.discover(), "daemon-1", null);
        api = ApiServer.start(tmp.resolve("api.sock"), daemon, Map.of("package_ver", "v0.1.0-test"),
                exited::countDown);
        client = new ApiClient(api.socket(), "test");
    }

    @AfterEach
    void stop() throws Exception {
        if (api != null) {
            api.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private BuildResult image(String name, String content) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src-" + name));
        Files.writeString(src.resolve(name + ".txt"), content);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        return new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve(name + ".boot"), null, blobs);
    }

    private String mountBody(BuildResult r) throws Exception {
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + tmp.resolve("blobs")
                + "\"}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + tmp.resolve("cache")
                + "\"}}},\"mode\":\"direct\"}";
        return JSON.writeValueAsString(Map.of("source", r.bootstrap().toString(), "fs_type", "rafs", "config", cfg));
    }

    @Test
    void mountsTwoImagesInOneDaemonAndReportsThem() throws Exception {
        BuildResult a = image("a", "alpha\n");
        BuildResult b = image("b", "bravo\n");
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/a", mountBody(a)).status()).isEqualTo(204);
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/b", mountBody(b)).status()).isEqualTo(204);
        Path mp = daemon.mount().mountpoint();
        assertThat(Files.readString(mp.resolve("a/a.txt"))).isEqualTo("alpha\n");
        assertThat(Files.readString(mp.resolve("b/b.txt"))).isEqualTo("bravo\n");
        try (var s = Files.list(mp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("a", "b");
        }

        JsonNode info = JSON.readTree(client.send("GET", "/api/v1/daemon", null).body());
        assertThat(info.path("state").asText()).isEqualTo("RUNNING");
        assertThat(info.path("id").asText()).isEqualTo("daemon-1");
        assertThat(info.path("version").path("package_ver").asText()).isEqualTo("v0.1.0-test");
        assertThat(info.path("backend_collection").has("/a")).isTrue();
        assertThat(info.path("backend_collection").path("/b").path("config").path("backend").path("type").asText())
                .isEqualTo("localfs");

        // several instances: metrics need an id
        assertThat(client.send("GET", "/api/v1/metrics", null).status()).isEqualTo(404);
        JsonNode fs = JSON.readTree(client.send("GET", "/api/v1/metrics?id=/a", null).body());
        assertThat(fs.path("data_read").asLong()).isEqualTo(6);
        assertThat(fs.path("fop_hits")).hasSize(15);
        JsonNode backend = JSON.readTree(client.send("GET", "/api/v1/metrics/backend?id=/a", null).body());
        assertThat(backend.path("backend_type").asText()).isEqualTo("localfs");
        assertThat(backend.path("read_count").asLong()).isEqualTo(1);
        assertThat(backend.path("read_latency_sizes_dist")).hasSize(8);
        JsonNode cache = JSON.readTree(client.send("GET", "/api/v1/metrics/blobcache?id=/a", null).body());
        assertThat(cache.path("store_path").asText()).isEqualTo(tmp.resolve("cache").toString());
        assertThat(cache.path("data_all_ready").asBoolean()).isTrue();
        assertThat(client.send("GET", "/api/v1/daemon/backend?mountpoint=/b", null).status()).isEqualTo(200);
        assertThat(client.send("GET", "/api/v1/metrics/inflight", null).status()).isEqualTo(204);
        assertThat(client.send("GET", "/api/v1/daemon/events", null).body()).contains("\"max_errors\":500");

        assertThat(client.send("DELETE", "/api/v1/mount?mountpoint=/a", null).status()).isEqualTo(204);
        assertThat(Files.exists(mp.resolve("a"))).isFalse();
        assertThat(Files.readString(mp.resolve("b/b.txt"))).isEqualTo("bravo\n");
        assertThat(client.send("GET", "/api/v1/metrics", null).status()).isEqualTo(200);
    }

    @Test
    void errorsFollowUpstreamShape() throws Exception {
        ApiClient.Response r = client.send("GET", "/api/v1/nope", null);
        assertThat(r.status()).isEqualTo(404);
        assertThat(JSON.readTree(r.body()).path("code").asText()).isEqualTo("UNDEFINED");
        assertThat(JSON.readTree(r.body()).path("message").asText()).isEqualTo("NoRoute");
        assertThat(client.send("GET", "/api/v1/mount?mountpoint=/x", null).status()).isEqualTo(400);
        assertThat(client.send("POST", "/api/v1/mount", "{}").body()).contains("should be specified in query string");
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/x", "{not json").status()).isEqualTo(400);
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/x",
                "{\"source\":\"/nonexistent\",\"fs_type\":\"rafs\",\"config\":\"{\\\"version\\\":2}\"}").status())
                .isEqualTo(500);
        assertThat(client.send("PUT", "/api/v1/daemon/fuse/takeover", null).status()).isEqualTo(501);
        assertThat(client.send("PUT", "/api/v1/config?id=/", "{\"registry_auth\":\"dTpw\"}").status()).isEqualTo(204);
        assertThat(client.send("GET", "/api/v1/config?id=/", null).body()).contains("registry_auth");
        assertThat(client.send("PUT", "/api/v1/config", "{\"bogus\":\"x\"}").status()).isEqualTo(500);
        assertThat(client.send("PUT", "/api/v1/daemon/exit", null).status()).isEqualTo(204);
        assertThat(exited.await(5, TimeUnit.SECONDS)).isTrue();
    }
}
