package dev.nydus4j.snapshotter;

import dev.nydus4j.snapshotter.cli.NydusOverlayfsOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Filters, image references, docker auth, the nydusd config template, config.toml and the overlayfs helper. */
class ParsersTest {
    @TempDir
    Path tmp;

    private static SnapshotRecord rec(String key, String parent, Map<String, String> labels) {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        return new SnapshotRecord(1, key, parent, Kind.COMMITTED, t, t, labels, 0, 0);
    }

    @Test
    void listFilterMatchesContainerdSyntax() {
        SnapshotRecord r = rec("sha256:c1", "", Map.of("containerd.io/snapshot.ref", "sha256:c1", "a.b", "x,y"));
        assertThat(ListFilter.parse(List.of("labels.\"containerd.io/snapshot.ref\"==sha256:c1,parent==\"\"")).matches(r))
                .isTrue();
        assertThat(ListFilter.parse(List.of("labels.\"containerd.io/snapshot.ref\"==sha256:c2")).matches(r)).isFalse();
        assertThat(ListFilter.parse(List.of("parent!=x", "name==nope")).matches(r)).isTrue();
        assertThat(ListFilter.parse(List.of("name~=^sha256:")).matches(r)).isTrue();
        assertThat(ListFilter.parse(List.of("kind==committed,labels.\"a.b\"==\"x,y\"")).matches(r)).isTrue();
        assertThat(ListFilter.parse(List.of("labels.\"containerd.io/snapshot.ref\"")).matches(r)).isTrue();
        assertThat(ListFilter.parse(List.of("labels.missing")).matches(r)).isFalse();
        assertThat(ListFilter.parse(List.of()).matches(r)).isTrue();
        assertThatThrownBy(() -> ListFilter.parse(List.of("name==\"open"))).isInstanceOf(SnapshotException.class)
                .hasMessageContaining("unterminated quote");
        assertThatThrownBy(() -> ListFilter.parse(List.of("==x"))).hasMessageContaining("expected a field name");
    }

    @Test
    void imageReferencesNormalizeLikeDocker() {
        assertThat(ImageReference.parse("127.0.0.1:5000/e2e/busybox-nydus:latest"))
                .isEqualTo(new ImageReference("127.0.0.1:5000", "e2e/busybox-nydus"));
        assertThat(ImageReference.parse("busybox")).isEqualTo(new ImageReference("index.docker.io", "library/busybox"));
        assertThat(ImageReference.parse("docker.io/foo/bar@sha256:abc"))
                .isEqualTo(new ImageReference("index.docker.io", "foo/bar"));
        assertThat(ImageReference.parse("localhost/x:1")).isEqualTo(new ImageReference("localhost", "x"));
        assertThat(ImageReference.parse("ghcr.io/a/b/c:v1@sha256:00")).isEqualTo(new ImageReference("ghcr.io", "a/b/c"));
        assertThatThrownBy(() -> ImageReference.parse(" ")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void dockerAuthFindsHostEntries() throws Exception {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, """
                {"auths": {"https://index.docker.io/v1/": {"auth": "aHViOnB3"},
                           "127.0.0.1:5000": {"username": "u", "password": "p"},
                           "http://reg.example:8080/v2/": {"auth": "cmVnOnB3"}}}""");
        DockerAuth auth = new DockerAuth(cfg);
        assertThat(auth.lookup("index.docker.io")).isEqualTo("aHViOnB3");
        assertThat(auth.lookup("127.0.0.1:5000")).isEqualTo("dTpw"); // base64("u:p")
        assertThat(auth.lookup("reg.example:8080")).isEqualTo("cmVnOnB3");
        assertThat(auth.lookup("other")).isNull();
        assertThat(new DockerAuth(tmp.resolve("missing.json")).lookup("x")).isNull();
    }

    @Test
    void templateFillsTheDragonflyBackendsRegistryOriginPerImage() throws Exception {
        Path seed = tmp.resolve("nydusd-config.dragonfly.json");
        Files.writeString(seed, """
                {"device": {"backend": {"type": "dragonfly", "config": {
                   "proxy": {"url": "http://127.0.0.1:4001", "fallback": true},
                   "registry": {"scheme": "http", "timeout": 5}}},
                  "cache": {"type": "blobcache", "config": {"work_dir": "/var/lib/nydus/cache"}}},
                 "mode": "direct"}""");
        Path docker = tmp.resolve("docker.json");
        Files.writeString(docker, "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dTpw\"}}}");
        NydusdConfigTemplate t = NydusdConfigTemplate.load(seed);
        var out = StateFile.JSON.readTree(t.forImage("127.0.0.1:5000/e2e/img:latest", tmp.resolve("cache"),
                new DockerAuth(docker)));
        var cfg = out.path("device").path("backend").path("config");
        assertThat(cfg.path("registry").path("host").asText()).isEqualTo("127.0.0.1:5000");
        assertThat(cfg.path("registry").path("repo").asText()).isEqualTo("e2e/img");
        assertThat(cfg.path("registry").path("auth").asText()).isEqualTo("dTpw");
        assertThat(cfg.path("proxy").path("url").asText()).isEqualTo("http://127.0.0.1:4001");
        assertThat(cfg.has("host")).isFalse();
    }

    @Test
    void templateFillsRegistryAndCachePerImage() throws Exception {
        Path seed = tmp.resolve("nydusd-config.fusedev.json");
        Files.writeString(seed, """
                {"device": {"backend": {"type": "registry", "config": {"scheme": "http", "timeout": 5,
                   "connect_timeout": 5, "retry_limit": 2}},
                  "cache": {"type": "blobcache", "config": {"work_dir": "/var/lib/nydus/cache"}}},
                 "mode": "direct", "digest_validate": false, "iostats_files": false, "enable_xattr": true}""");
        Path docker = tmp.resolve("docker.json");
        Files.writeString(docker, "{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"dTpw\"}}}");
        NydusdConfigTemplate t = NydusdConfigTemplate.load(seed);
        assertThat(t.backendType()).isEqualTo("registry");
        var out = StateFile.JSON.readTree(t.forImage("127.0.0.1:5000/e2e/img:latest", tmp.resolve("cache"),
                new DockerAuth(docker)));
        var cfg = out.path("device").path("backend").path("config");
        assertThat(cfg.path("host").asText()).isEqualTo("127.0.0.1:5000");
        assertThat(cfg.path("repo").asText()).isEqualTo("e2e/img");
        assertThat(cfg.path("auth").asText()).isEqualTo("dTpw");
        assertThat(cfg.path("scheme").asText()).isEqualTo("http");
        assertThat(out.path("device").path("cache").path("config").path("work_dir").asText())
                .isEqualTo(tmp.resolve("cache").toString());
        assertThatThrownBy(() -> t.forImage(null, tmp, new DockerAuth(docker)))
                .hasMessageContaining(Labels.CRI_IMAGE_REF);
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"device\": {\"backend\": {\"type\": \"registry\", \"config\": {}}}, \"mdoe\": 1}");
        assertThatThrownBy(() -> NydusdConfigTemplate.load(bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad.json");
    }

    @Test
    void configTomlAppliesUpstreamKeys() throws Exception {
        Path toml = tmp.resolve("config.toml");
        Files.writeString(toml, """
                version = 1
                root = "/tmp/snap-root"
                address = "/tmp/snap.sock"
                daemon_mode = "shared"
                cleanup_on_close = true
                [daemon]
                nydusd_config = "/etc/nydus/nydusd-config.fusedev.json"
                nydusd_path = "/usr/local/bin/nydusd"
                fs_driver = "fusedev"
                threads_number = 4
                recover_policy = "none"
                [log]
                level = "debug"
                log_to_stdout = true
                [snapshot]
                enable_overlayfs_volatile = true
                sync_remove = false
                [cache_manager]
                gc_period = "24h"
                """);
        SnapshotterToml.Result r = SnapshotterToml.read(toml, SnapshotterConfig.defaults());
        SnapshotterConfig c = r.config();
        assertThat(c.root()).isEqualTo(Path.of("/tmp/snap-root"));
        assertThat(c.address()).isEqualTo(Path.of("/tmp/snap.sock"));
        assertThat(c.daemonMode()).isEqualTo(SnapshotterConfig.DaemonMode.SHARED);
        assertThat(c.nydusdConfig()).isEqualTo(Path.of("/etc/nydus/nydusd-config.fusedev.json"));
        assertThat(c.nydusdPath()).isEqualTo("/usr/local/bin/nydusd");
        assertThat(c.threads()).isEqualTo(4);
        assertThat(c.recoverRestart()).isFalse();
        assertThat(c.recoverPolicy()).isEqualTo(SnapshotterConfig.RecoverPolicy.NONE);
        assertThat(c.volatileUpper()).isTrue();
        assertThat(c.cleanupOnClose()).isTrue();
        assertThat(r.logLevel()).isEqualTo("debug");
        assertThat(r.logToStdout()).isTrue();
        assertThat(r.ignored()).containsExactly("snapshot.sync_remove", "cache_manager");
        Files.writeString(toml, "[daemon]\nfs_driver = \"fscache\"\n");
        assertThatThrownBy(() -> SnapshotterToml.read(toml, SnapshotterConfig.defaults()))
                .hasMessageContaining("fs_driver 'fscache' is not supported");
        Files.writeString(toml, "[daemon]\nrecover_policy = \"failover\"\n");
        assertThat(SnapshotterToml.read(toml, SnapshotterConfig.defaults()).config().recoverPolicy())
                .isEqualTo(SnapshotterConfig.RecoverPolicy.FAILOVER);
        assertThat(SnapshotterToml.read(toml, SnapshotterConfig.defaults()).config().failoverPolicy())
                .as("upstream's default").isEqualTo("resend");
        Files.writeString(toml, "[daemon]\nrecover_policy = \"failover\"\nfailover_policy = \"flush\"\n");
        SnapshotterToml.Result flush = SnapshotterToml.read(toml, SnapshotterConfig.defaults());
        assertThat(flush.config().failoverPolicy()).isEqualTo("flush");
        assertThat(flush.ignored()).isEmpty();
        Files.writeString(toml, "[daemon]\nfailover_policy = \"retry\"\n");
        assertThatThrownBy(() -> SnapshotterToml.read(toml, SnapshotterConfig.defaults()))
                .hasMessageContaining("config.toml: daemon.failover_policy 'retry' is not supported;"
                        + " use none, resend or flush");
        Files.writeString(toml, "[daemon]\nrecover_policy = \"reboot\"\n");
        assertThatThrownBy(() -> SnapshotterToml.read(toml, SnapshotterConfig.defaults()))
                .hasMessageContaining("recover_policy 'reboot' is not supported; use none, restart or failover");
        Files.writeString(toml, "[daemon]\nnydusd_confg = \"x\"\n");
        assertThatThrownBy(() -> SnapshotterToml.read(toml, SnapshotterConfig.defaults()))
                .hasMessageContaining("unknown key daemon.nydusd_confg");
    }

    @Test
    void overlayfsHelperDropsKataOptions() {
        assertThat(NydusOverlayfsOptions.filter("lowerdir=/a:/b,upperdir=/u,workdir=/w,extraoption=eyJ9,"
                + "io.katacontainers.volume=e30=,volatile")).isEqualTo("lowerdir=/a:/b,upperdir=/u,workdir=/w,volatile");
    }
}
