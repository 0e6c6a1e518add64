package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.oci.LocalRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        return mountBody(r, "");
    }

    /** A localfs mount; {@code extraTopLevel} adds v1 keys such as {@code "iostats_files":true,}. */
    private String mountBody(BuildResult r, String extraTopLevel) throws Exception {
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + tmp.resolve("blobs")
                + "\"}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + tmp.resolve("cache")
                + "\"}}}," + extraTopLevel + "\"mode\":\"direct\"}";
        return JSON.writeValueAsString(Map.of("source", r.bootstrap().toString(), "fs_type", "rafs", "config", cfg));
    }

    @Test
    void perFileCountersAccessPatternAndLatestReadFiles() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src-files"));
        Files.writeString(src.resolve("one.txt"), "first file\n");
        Files.write(src.resolve("two.bin"), new byte[300_000]);
        Files.writeString(src.resolve("unread.txt"), "never read\n");
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("files.boot"), null, Files.createDirectories(tmp.resolve("blobs")));
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/on", mountBody(r,
                "\"iostats_files\":true,\"access_pattern\":true,\"latest_read_files\":true,")).status())
                .isEqualTo(204);
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/off", mountBody(r)).status()).isEqualTo(204);
        Path mp = daemon.mount().mountpoint();
        assertThat(Files.readString(mp.resolve("on/one.txt"))).isEqualTo("first file\n");
        assertThat(Files.readAllBytes(mp.resolve("on/two.bin"))).hasSize(300_000);
        assertThat(Files.readString(mp.resolve("off/one.txt"))).isEqualTo("first file\n");
        long one = (Long) Files.getAttribute(mp.resolve("on/one.txt"), "unix:ino");
        long two = (Long) Files.getAttribute(mp.resolve("on/two.bin"), "unix:ino");
        long unread = (Long) Files.getAttribute(mp.resolve("on/unread.txt"), "unix:ino");

        JsonNode files = JSON.readTree(client.send("GET", "/api/v1/metrics/files?id=/on", null).body());
        JsonNode f1 = files.path(Long.toString(one));
        assertThat(f1.path("data_read").asLong()).isEqualTo(11);
        assertThat(f1.path("fop_hits")).hasSize(15);
        // an image keeps per-file metrics, so the kernel engine answers OPEN too (instead of switching opens off)
        // and counts it; its LOOKUP brings the attributes
        boolean kernel = daemon.mount().engine().equals("kernel");
        assertThat(f1.path("fop_hits").path(FsMetrics.Op.OPEN.ordinal()).asLong()).isEqualTo(1);
        assertThat(f1.path("fop_hits").path(FsMetrics.Op.LOOKUP.ordinal()).asLong() > 0).isEqualTo(kernel);
        assertThat(f1.path("fop_hits").path(FsMetrics.Op.READ.ordinal()).asLong()).isGreaterThanOrEqualTo(1);
        assertThat(f1.path("block_count_read")).hasSize(8);
        // open, read, release at least
        assertThat(f1.path("total_fops").asLong()).isGreaterThanOrEqualTo(3);
        assertThat(files.path(Long.toString(two)).path("data_read").asLong()).isEqualTo(300_000);
        // stat'ed (getattr counted) but never opened or read
        assertThat(files.path(Long.toString(unread)).path("data_read").asLong()).isZero();
        assertThat(files.path(Long.toString(unread)).path("fop_hits").path(FsMetrics.Op.OPEN.ordinal()).asLong())
                .isZero();

        JsonNode pattern = JSON.readTree(client.send("GET", "/api/v1/metrics/pattern?id=/on", null).body());
        List<Long> patternInos = new ArrayList<>();
        for (JsonNode p : pattern) {
            patternInos.add(p.path("ino").asLong());
            assertThat(p.path("nr_read").asLong()).isPositive();
            assertThat(p.path("first_access_time_secs").asLong()).isGreaterThan(1_600_000_000L);
            assertThat(p.has("first_access_time_nanos")).isTrue();
        }
        assertThat(patternInos).containsExactly(one, two); // in first-access order

        // upstream's inode-bitmap form: [[first,last]] for consecutive inodes, [[a],[b]] otherwise
        JsonNode latest = JSON.readTree(client.send("GET", "/api/v1/metrics/files?id=/on&latest=true", null).body());
        assertThat(latest.isArray()).isTrue();
        long lo = Math.min(one, two);
        long hi = Math.max(one, two);
        assertThat(latest.toString()).isEqualTo(hi == lo + 1 ? "[[" + lo + "," + hi + "]]" : "[[" + lo + "],[" + hi + "]]");
        // the set was drained by the previous call
        assertThat(client.send("GET", "/api/v1/metrics/files?id=/on&latest=true", null).body()).isEqualTo("[]");

        // not enabled: upstream answers an empty object / array
        assertThat(client.send("GET", "/api/v1/metrics/files?id=/off", null).body()).isEqualTo("{}");
        assertThat(client.send("GET", "/api/v1/metrics/pattern?id=/off", null).body()).isEqualTo("[]");
        assertThat(client.send("GET", "/api/v1/metrics/files?id=/off&latest=true", null).body()).isEqualTo("[]");
        assertThat(client.send("GET", "/api/v1/metrics/files?id=/nope", null).status()).isEqualTo(404);
        // upstream's smoke tools recognise an unknown id by this text and treat it as "no pattern"
        ApiClient.Response poison = client.send("GET", "/api/v1/metrics/pattern?id=poison", null);
        assertThat(poison.status()).isEqualTo(404);
        assertThat(poison.body()).contains("Pattern(Metrics(Stats(NoCounter)))");
        assertThat(client.send("GET", "/api/v1/metrics?id=poison", null).body())
                .contains("GlobalMetrics(Metrics(Stats(NoCounter)))");
        assertThat(client.send("GET", "/api/v1/metrics/pattern", null).status()).isEqualTo(404); // two instances
        JsonNode global = JSON.readTree(client.send("GET", "/api/v1/metrics?id=/on", null).body());
        assertThat(global.path("files_account_enabled").asBoolean()).isTrue();
        assertThat(global.path("access_pattern_enabled").asBoolean()).isTrue();
        assertThat(global.path("nr_opens").asLong()).isZero(); // every file was closed again
    }

    @Test
    void logLevelChangesAtRunTime() throws Exception {
        org.slf4j.Logger probe = org.slf4j.LoggerFactory.getLogger("dev.nydus4j.fuse.ApiServerIT.probe");
        try {
            assertThat(client.send("PUT", "/api/v1/daemon", "{\"log_level\":\"debug\"}").status()).isEqualTo(204);
            assertThat(probe.isDebugEnabled()).isTrue();
            assertThat(org.slf4j.LoggerFactory.getLogger("created.after.the.change").isDebugEnabled()).isTrue();
            assertThat(client.send("PUT", "/api/v2/daemon", "{\"log_level\":\"warn\"}").status()).isEqualTo(204);
            assertThat(probe.isInfoEnabled()).isFalse();
            assertThat(probe.isWarnEnabled()).isTrue();
            ApiClient.Response bad = client.send("PUT", "/api/v1/daemon", "{\"log_level\":\"loud\"}");
            assertThat(bad.status()).isEqualTo(500);
            assertThat(bad.body()).contains("invalid log level 'loud'");
            assertThat(probe.isWarnEnabled()).isTrue();
        } finally {
            LogLevels.set("info");
        }
        assertThat(probe.isInfoEnabled()).isTrue();
        assertThat(probe.isDebugEnabled()).isFalse();
    }

    @Test
    void registryAuthIsAppliedWhileMounted() throws Exception {
        LocalRegistry.assumeInstalled();
        Path htpasswd = tmp.resolve("htpasswd");
        Files.writeString(htpasswd, LocalRegistry.htpasswdLine("alice", LocalRegistry.FIXTURE_PASSWORD));
        try (LocalRegistry reg = LocalRegistry.start(Files.createDirectories(tmp.resolve("registry")),
                "auth:\n  htpasswd: {realm: nydus4j-test, path: " + htpasswd + "}\n")) {
            String right = Base64.getEncoder().encodeToString(("alice:" + LocalRegistry.FIXTURE_PASSWORD)
                    .getBytes(StandardCharsets.UTF_8));
            String wrong = Base64.getEncoder().encodeToString("alice:wrong".getBytes(StandardCharsets.UTF_8));
            BuildResult r = image("reg", "served from a registry\n");
            pushBlob(reg, "hot/app", r.blob() != null ? r.blob() : tmp.resolve("blobs").resolve(r.newBlobId()),
                    r.newBlobId(), right);
            // no cache: every read goes to the registry
            String cfg = "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{\"host\":\"" + reg.host()
                    + "\",\"repo\":\"hot/app\",\"scheme\":\"http\",\"timeout\":5,\"connect_timeout\":5,"
                    + "\"retry_limit\":0,\"auth\":\"" + wrong + "\"}}},\"mode\":\"direct\"}";
            ApiClient.Response mounted = client.send("POST", "/api/v1/mount?mountpoint=/r",
                    JSON.writeValueAsString(Map.of("source", r.bootstrap().toString(), "fs_type", "rafs", "config", cfg)));
            assertThat(mounted.status()).as(mounted.body()).isEqualTo(204);
            Path file = daemon.mount().mountpoint().resolve("r/reg.txt");
            assertThatThrownBy(() -> Files.readString(file)).isInstanceOf(IOException.class);

            assertThat(client.send("PUT", "/api/v1/config?id=/r", "{\"registry_auth\":\"" + right + "\"}").status())
                    .isEqualTo(204);
            assertThat(Files.readString(file)).isEqualTo("served from a registry\n");
            assertThat(JSON.readTree(client.send("GET", "/api/v1/config?id=/r", null).body()).path("registry_auth")
                    .asText()).isEqualTo(right);
        }
    }

    @Test
    void registryStoppedWhileMountedGivesEioWithinTheTimeoutThenRecovers() throws Exception {
        LocalRegistry.assumeInstalled();
        Path regDir = Files.createDirectories(tmp.resolve("registry-down"));
        Process again = null;
        try (LocalRegistry reg = LocalRegistry.start(regDir)) {
            Path src = Files.createDirectories(tmp.resolve("src-down"));
            byte[] data = new byte[3 << 20];
            new java.util.Random(5).nextBytes(data);
            Files.write(src.resolve("data.bin"), data);
            BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                    .build(src, tmp.resolve("down.boot"), null, Files.createDirectories(tmp.resolve("blobs")));
            pushBlob(reg, "down/app", tmp.resolve("blobs").resolve(r.newBlobId()), r.newBlobId(), "");
            // the seed's timeouts, shortened: timeout 2, retry_limit 4 (whose whole back-off would be 7.5 s)
            String cfg = "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{\"host\":\"" + reg.host()
                    + "\",\"repo\":\"down/app\",\"scheme\":\"http\",\"timeout\":2,\"connect_timeout\":2,"
                    + "\"retry_limit\":4}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\""
                    + tmp.resolve("cache-down") + "\"}}},\"mode\":\"direct\"}";
            assertThat(client.send("POST", "/api/v1/mount?mountpoint=/down", JSON.writeValueAsString(Map.of(
                    "source", r.bootstrap().toString(), "fs_type", "rafs", "config", cfg))).status()).isEqualTo(204);
            Path file = daemon.mount().mountpoint().resolve("down/data.bin");
            reg.close();

            long t0 = System.nanoTime();
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
                assertThatThrownBy(() -> ch.read(java.nio.ByteBuffer.allocate(4096), 0))
                        .isInstanceOf(IOException.class).hasMessageContaining("Input/output error");
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            // each FUSE read pauses at most the timeout between attempts (0.5 + 1 s here); the kernel may ask twice
            assertThat(ms).as("EIO after %d ms", ms).isLessThan(2 * 2_000 + 1_500);
            // the daemon is still up and reports the failure
            assertThat(client.send("GET", "/api/v1/daemon", null).body()).contains("\"state\":\"RUNNING\"");
            assertThat(JSON.readTree(client.send("GET", "/api/v1/daemon/events", null).body()).path("total_errors")
                    .asLong()).isPositive();

            // the registry comes back on the same address: the same mount serves the right bytes
            again = new ProcessBuilder(LocalRegistry.BINARY.toString(), "serve", regDir.resolve("config.yml").toString())
                    .redirectErrorStream(true).redirectOutput(regDir.resolve("registry-again.log").toFile()).start();
            long deadline = System.nanoTime() + 15_000_000_000L;
            while (true) {
                try (java.net.Socket sock = new java.net.Socket("127.0.0.1", reg.port())) {
                    break;
                } catch (IOException notYet) {
                    assertThat(System.nanoTime()).as("registry restarted").isLessThan(deadline);
                    Thread.sleep(20);
                }
            }
            assertThat(Files.readAllBytes(file)).isEqualTo(data);
        } finally {
            if (again != null) {
                again.destroy();
                again.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Pushes a blob with the registry's monolithic upload (POST, then PUT with the digest). */
    private static void pushBlob(LocalRegistry reg, String repo, Path blob, String sha256Hex, String basicAuth)
            throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://" + reg.host();
        HttpResponse<Void> start = http.send(HttpRequest.newBuilder(URI.create(base + "/v2/" + repo + "/blobs/uploads/"))
                .header("Authorization", "Basic " + basicAuth).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertThat(start.statusCode()).isEqualTo(202);
        String location = start.headers().firstValue("Location").orElseThrow();
        URI put = URI.create(base).resolve(location + (location.contains("?") ? "&" : "?") + "digest=sha256:"
                + sha256Hex);
        HttpResponse<String> done = http.send(HttpRequest.newBuilder(put).header("Authorization", "Basic " + basicAuth)
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(blob))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(done.statusCode()).as(done.body()).isEqualTo(201);
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
    void blobcacheMetricsReportTheRealPrefetchWithEveryUpstreamKey() throws Exception {
        // before any mount the FUSE service exists: an empty collection, not null
        JsonNode info = JSON.readTree(client.send("GET", "/api/v1/daemon", null).body());
        assertThat(info.path("backend_collection").isObject()).isTrue();
        assertThat(info.path("backend_collection").size()).isZero();

        Path src = Files.createDirectories(tmp.resolve("src-prefetch"));
        byte[] big = new byte[2_500_000];
        new java.util.Random(7).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("small.txt"), "small\n");
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("prefetch.boot"), null, Files.createDirectories(tmp.resolve("blobs")));
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/p",
                mountBody(r, "\"fs_prefetch\":{\"enable\":true,\"threads_count\":3},")).status()).isEqualTo(204);
        long expected = big.length + "small\n".length();
        // the prefetch runs in the background (its amount is counted as each file is taken up): wait until it is done
        assertThat(daemon.instance("/p").prefetcher().awaitQuiescence(20, TimeUnit.SECONDS)).isTrue();
        JsonNode cache = JSON.readTree(client.send("GET", "/api/v1/metrics/blobcache?id=/p", null).body());
        // every key upstream's nydusctl reads (it unwraps each one)
        for (String k : List.of("underlying_files", "store_path", "partial_hits", "whole_hits", "total",
                "entries_count", "prefetch_data_amount", "prefetch_requests_count", "prefetch_workers",
                "prefetch_unmerged_chunks", "prefetch_cumulative_time_millis", "prefetch_begin_time_secs",
                "prefetch_begin_time_millis", "prefetch_end_time_secs", "prefetch_end_time_millis",
                "buffered_backend_size", "data_all_ready")) {
            assertThat(cache.has(k)).as(k).isTrue();
        }
        assertThat(cache.path("prefetch_data_amount").asLong()).isEqualTo(expected);
        assertThat(cache.path("prefetch_workers").asLong()).isEqualTo(3);
        // 2.5 MB in reads of at most 1 MiB, plus the small file
        assertThat(cache.path("prefetch_requests_count").asLong()).isEqualTo(4);
        assertThat(cache.path("prefetch_unmerged_chunks").asLong()).isEqualTo(4); // 3 chunks of 1 MiB + 1
        assertThat(cache.path("prefetch_begin_time_millis").asLong()).isBetween(0L, 999L);
        long begin = cache.path("prefetch_begin_time_secs").asLong() * 1000 + cache.path("prefetch_begin_time_millis").asLong();
        long end = cache.path("prefetch_end_time_secs").asLong() * 1000 + cache.path("prefetch_end_time_millis").asLong();
        assertThat(end).isGreaterThanOrEqualTo(begin);
        assertThat(begin).isGreaterThan(System.currentTimeMillis() - 60_000);
        assertThat(cache.path("data_all_ready").asBoolean()).isTrue();

        // without prefetch the counters stay at zero
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/q", mountBody(r)).status()).isEqualTo(204);
        JsonNode none = JSON.readTree(client.send("GET", "/api/v1/metrics/blobcache?id=/q", null).body());
        assertThat(none.path("prefetch_data_amount").asLong()).isZero();
        assertThat(none.path("prefetch_end_time_secs").asLong()).isZero();
    }

    /**
     * Upstream's smoke test mounts over the API with {@code "prefetch_files": [...]} and reads the blob cache metrics
     * right after the reply: the list replaces the image's prefetch table, and the amount is counted by then.
     */
    @Test
    void mountPrefetchFilesReplaceTheTableAndAreCountedWhenTheReplyComes() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src-pf"));
        byte[] big = new byte[1_500_000];
        new java.util.Random(3).nextBytes(big);
        Files.write(src.resolve("big.bin"), big);
        Files.writeString(src.resolve("small.txt"), "small\n");
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("pf.boot"), null, Files.createDirectories(tmp.resolve("blobs")));
        String prefetchOn = "\"fs_prefetch\":{\"enable\":true,\"threads_count\":2,\"prefetch_all\":false},";
        com.fasterxml.jackson.databind.node.ObjectNode body = (com.fasterxml.jackson.databind.node.ObjectNode)
                JSON.readTree(mountBody(r, prefetchOn));
        body.putArray("prefetch_files").add("/small.txt");
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/pf", body.toString()).status()).isEqualTo(204);
        JsonNode cache = JSON.readTree(client.send("GET", "/api/v1/metrics/blobcache", null).body());
        assertThat(cache.path("prefetch_data_amount").asLong()).as("counted when the mount reply comes")
                .isEqualTo("small\n".length());
        assertThat(daemon.instance("/pf").prefetcher().awaitQuiescence(10, TimeUnit.SECONDS)).isTrue();
        cache = JSON.readTree(client.send("GET", "/api/v1/metrics/blobcache?id=/pf", null).body());
        assertThat(cache.path("prefetch_data_amount").asLong()).as("only the listed file, not big.bin")
                .isEqualTo("small\n".length());
        assertThat(cache.path("data_all_ready").asBoolean()).isFalse();

        body.putArray("prefetch_files").add("small.txt");
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/pf2", body.toString()).status()).isEqualTo(400);
        body.put("prefetch_files", "/small.txt");
        assertThat(client.send("POST", "/api/v1/mount?mountpoint=/pf2", body.toString()).status()).isEqualTo(400);
        assertThat(daemon.instance("/pf2")).isNull();
    }

    @Test
    void anIdleOrSlowClientDoesNotStallTheApi() throws Exception {
        try (java.nio.channels.SocketChannel idle = java.nio.channels.SocketChannel.open(
                java.net.UnixDomainSocketAddress.of(api.socket()));
             java.nio.channels.SocketChannel slow = java.nio.channels.SocketChannel.open(
                     java.net.UnixDomainSocketAddress.of(api.socket()))) {
            // idle: connected, sends nothing; slow: half a request line so far
            slow.write(java.nio.ByteBuffer.wrap("GET /api/v1/daemon HT".getBytes(StandardCharsets.US_ASCII)));
            long t0 = System.nanoTime();
            ApiClient.Response r = client.send("GET", "/api/v1/daemon", null);
            assertThat(r.status()).isEqualTo(200);
            assertThat((System.nanoTime() - t0) / 1_000_000).as("served while two clients hold connections")
                    .isLessThan(2_000);
            // the slow client finishes its request and is answered
            slow.write(java.nio.ByteBuffer.wrap("TP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            java.nio.ByteBuffer answer = java.nio.ByteBuffer.allocate(4096);
            while (slow.read(answer) > 0) {
                // until the server closes
            }
            assertThat(new String(answer.array(), 0, answer.position(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 200").contains("\"state\":\"RUNNING\"");
        }
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
        // the blob cache API: a malformed request is 400 first, a well-formed one 501 on a FUSE daemon
        assertThat(client.send("GET", "/api/v2/blobs", null).status()).isEqualTo(400);
        assertThat(client.send("DELETE", "/api/v2/blobs", null).status()).isEqualTo(400);
        assertThat(client.send("PUT", "/api/v2/blobs", "{not json").status()).isEqualTo(400);
        r = client.send("GET", "/api/v2/blobs?domain_id=d", null);
        assertThat(r.status()).isEqualTo(501);
        assertThat(JSON.readTree(r.body()).path("code").asText()).isEqualTo("UNDEFINED");
        assertThat(client.send("DELETE", "/api/v2/blobs?blob_id=b", null).status()).isEqualTo(501);
        assertThat(client.send("PUT", "/api/v2/blobs", "{\"type\":\"bootstrap\"}").status()).isEqualTo(501);
        // Start is an event of READY only (upstream's state machine): a RUNNING daemon refuses it
        r = client.send("PUT", "/api/v1/daemon/start", null);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("invalid event in state RUNNING");
        r = client.send("PUT", "/api/v1/daemon/fuse/takeover", null); // only an --upgrade daemon takes over
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("takeover needs a daemon started with --upgrade");
        r = client.send("PUT", "/api/v1/daemon/fuse/sendfd", null);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("no --supervisor socket was given");
        // stored for an id with no image mounted, as upstream
        assertThat(client.send("PUT", "/api/v1/config?id=/", "{\"registry_auth\":\"dTpw\"}").status()).isEqualTo(204);
        assertThat(client.send("GET", "/api/v1/config?id=/", null).body()).contains("registry_auth");
        assertThat(client.send("PUT", "/api/v1/config", "{\"bogus\":\"x\"}").status()).isEqualTo(500);
        assertThat(client.send("PUT", "/api/v1/daemon/exit", null).status()).isEqualTo(204);
        assertThat(exited.await(5, TimeUnit.SECONDS)).isTrue();
    }
}
