package dev.nydus4j.cli.nydusctl;

import dev.nydus4j.fuse.ApiServer;
import dev.nydus4j.fuse.LogLevels;
import dev.nydus4j.fuse.NydusDaemon;
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

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** nydusctl against a real daemon (FUSE, API socket) in this JVM: mount, metrics files/pattern, set log-level. */
class NydusctlIT {
    @TempDir
    Path tmp;
    private NydusDaemon daemon;
    private ApiServer api;

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(TreeGenerator.isRoot() && Files.exists(Path.of("/dev/fuse")), "needs root and FUSE");
        daemon = NydusDaemon.start(null, null, Files.createDirectories(tmp.resolve("mnt")), BackendRegistry.discover(),
                null, null);
        api = ApiServer.start(tmp.resolve("api.sock"), daemon, Map.of("package_ver", "v0.1.0-test"), () -> { });
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

    private record Run(int code, String out, String err) {
    }

    private Run ctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("--sock", api.socket().toString()));
        all.addAll(List.of(args));
        int code = NydusctlCommand.execute(all.toArray(String[]::new), new PrintWriter(out, true),
                new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void mountsReportsPerFileMetricsAndChangesTheLogLevel() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello, nydusctl\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobs
                + "\"}}},\"mode\":\"direct\",\"iostats_files\":true,\"access_pattern\":true,"
                + "\"latest_read_files\":true}");

        Run mount = ctl("mount", "-s", r.bootstrap().toString(), "-c", cfg.toString(), "-m", "/img");
        assertThat(mount.code()).as(mount.err()).isZero();
        Path file = daemon.mount().mountpoint().resolve("img/hello.txt");
        assertThat(Files.readString(file)).isEqualTo("hello, nydusctl\n");
        long ino = (Long) Files.getAttribute(file, "unix:ino");

        Run files = ctl("metrics", "files");
        assertThat(files.code()).as(files.err()).isZero();
        assertThat(files.out()).contains("Inode").contains("Data read");
        String row = files.out().lines().filter(l -> l.startsWith(ino + " ")).findFirst().orElseThrow();
        // inode, total fops, data read, opens, reads, errors
        assertThat(row.trim().split("\\s+")).satisfies(c -> {
            assertThat(c[2]).isEqualTo("16");
            // both engines answer OPEN while per-file metrics are on (the kernel engine switches opens off otherwise)
            assertThat(c[3]).isEqualTo("1");
            assertThat(c[5]).isEqualTo("0");
        });
        Run pattern = ctl("metrics", "pattern");
        assertThat(pattern.out()).containsPattern("(?m)^" + ino + "\\s+1\\s+\\d{4}-");
        Run latest = ctl("--raw", "metrics", "files", "--latest");
        assertThat(latest.out().strip()).isEqualTo("[[" + ino + "]]"); // upstream's run form

        try {
            assertThat(ctl("set", "log-level", "debug").code()).isZero();
            assertThat(org.slf4j.LoggerFactory.getLogger(NydusctlIT.class).isDebugEnabled()).isTrue();
            Run bad = ctl("set", "log-level", "loud");
            assertThat(bad.code()).isNotZero();
            assertThat(bad.err()).contains("Request failed").contains("invalid log level 'loud'");
        } finally {
            LogLevels.set("info");
        }

        assertThat(ctl("umount", "-m", "/img").code()).isZero();
        assertThat(Files.exists(daemon.mount().mountpoint().resolve("img"))).isFalse();
    }

    @Test
    void humanOutputHasUpstreamsLayout() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.write(src.resolve("data.bin"), new byte[3 << 20]);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs);
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobs
                + "\"}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + tmp.resolve("cache")
                + "\"}}},\"mode\":\"direct\",\"fs_prefetch\":{\"enable\":true,\"threads_count\":2}}");
        assertThat(ctl("mount", "-s", r.bootstrap().toString(), "-c", cfg.toString(), "-m", "/img").code()).isZero();
        assertThat(Files.size(daemon.mount().mountpoint().resolve("img/data.bin"))).isEqualTo(3 << 20);
        assertThat(Files.readAllBytes(daemon.mount().mountpoint().resolve("img/data.bin"))).hasSize(3 << 20);

        Run info = ctl("info");
        assertThat(info.code()).as(info.err()).isZero();
        assertThat(info.out()).contains("\nVersion:                \"v0.1.0-test\"\n")
                .contains("\nStatus:                 \"RUNNING\"\n").contains("Instances:\n")
                .contains("\tInstance Mountpoint:  /img\n").contains("\tType:  Rafs\n")
                .contains("\tMode:  direct\n").contains("\tPrefetch:  true\n")
                .contains("\tPrefetch Merging Size:  1048576\n");

        String cache = "";
        for (int i = 0; i < 300 && !cache.contains("Prefetch Amount:            3145728 = 3072 KB"); i++) {
            cache = ctl("metrics", "cache").out();
            Thread.sleep(10);
        }
        assertThat(cache).contains("Prefetch Amount:            3145728 = 3072 KB\n")
                .contains("\nPrefetch Workers:           2\n").contains("\nPrefetch Requests:          3\n")
                .contains("\nPrefetch Average Size:      1048576 Bytes\n")
                .contains("\nDirectory:                  \"" + tmp.resolve("cache") + "\"\n")
                .contains("Prefetch Unmerged:          3\n").containsPattern("Prefetch Duration: +[0-9.]+ Seconds");

        Run backend = ctl("metrics", "backend");
        assertThat(backend.out()).contains("\nBackend Type:       \"localfs\"\n").contains("\nRead Errors:        0\n")
                .containsPattern("Read Amount:        \\d+ Bytes \\([0-9.]+ MB\\)")
                .contains("Block Sizes:             <1K     1K~     4K~     16K~    64K~    128K~   512K~   1M~")
                .contains("Average Latency(millis): ").contains("Request Count:           ");

        Run fs = ctl("metrics", "fsstats");
        assertThat(fs.out()).contains("Read Latency:   <1ms    ~20ms   ~50ms").contains("\nRead Errors: 0\n")
                .contains("Read Data: 3145728Bytes (3MB)").containsPattern("Getattr\\(\\d+\\) Readlink\\(0\\) Open\\(")
                .contains("BatchForget(");
        assertThat(NydusctlCommand.Metrics.rustFloat(0.0 / 0.0)).isEqualTo("NaN");
        assertThat(NydusctlCommand.Metrics.rustFloat(1.0 / 0.0)).isEqualTo("inf");
        assertThat(NydusctlCommand.Metrics.rustFloat(4870.3759765625)).isEqualTo("4870.3759765625");
        assertThat(NydusctlCommand.Metrics.rustFloat(1e-7)).isEqualTo("0.0000001");
        assertThat(ctl("--raw", "metrics", "cache").out().strip()).startsWith("{").contains("\"prefetch_end_time_secs\"");
    }

    @Test
    void versionPrintsTheVersionBlock() {
        StringWriter out = new StringWriter();
        int code = NydusctlCommand.execute(new String[]{"--version"}, new PrintWriter(out, true),
                new PrintWriter(new StringWriter(), true));
        assertThat(code).isZero();
        assertThat(out.toString()).startsWith("nydusctl").containsPattern("Version:\\s*v\\S+");
    }
}
