package dev.nydus4j.storage.config;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NydusdConfigParserTest {
    /** The reference configuration of upstream's containerd setup guide, verbatim. */
    static final String SEED = "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{\"scheme\":\"\","
            + "\"skip_verify\":true,\"timeout\":5,\"connect_timeout\":5,\"retry_limit\":4,\"auth\":\"\"}},"
            + "\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"cache\"}}},\"mode\":\"direct\","
            + "\"digest_validate\":false,\"iostats_files\":false,\"enable_xattr\":true,"
            + "\"fs_prefetch\":{\"enable\":true,\"threads_count\":4}}";

    @Test
    void seedConfigParsesAsWrittenWithUpstreamSemantics() {
        NydusdConfig c = NydusdConfigParser.parse(SEED, "seed");
        assertThat(c.version()).isEqualTo(2);
        assertThat(c.id()).isEmpty();
        assertThat(c.backend().type()).isEqualTo("registry");
        assertThat(c.backend().config()).containsEntry("scheme", "").containsEntry("skip_verify", true)
                .containsEntry("timeout", 5).containsEntry("retry_limit", 4).doesNotContainKey("host");
        assertThat(c.cache().type()).isEqualTo("blobcache");
        assertThat(c.cache().workDir()).isEqualTo("cache");
        assertThat(c.cache().validate()).isFalse();
        assertThat(c.rafs().mode()).isEqualTo("direct");
        assertThat(c.rafs().enableXattr()).isTrue();
        assertThat(c.rafs().batchSize()).isEqualTo(1 << 20);
        // v1 fs_prefetch defaults for unspecified siblings: merging 1 MiB, unlimited, prefetch_all TRUE
        assertThat(c.rafs().prefetch()).isEqualTo(new PrefetchConfig(true, 4, 1 << 20, 0, true, false));
        assertThat(c.cache().prefetch()).isEqualTo(c.rafs().prefetch());
    }

    @Test
    void v2TomlParses() {
        String toml = """
                version = 2
                id = "/snap-1"
                [backend]
                type = "localfs"
                [backend.localfs]
                dir = "/var/lib/blobs"
                [cache]
                type = "blobcache"
                [cache.filecache]
                work_dir = "/var/cache/nydus"
                [rafs]
                mode = "direct"
                enable_xattr = true
                [rafs.prefetch]
                enable = true
                threads = 2
                """;
        NydusdConfig c = NydusdConfigParser.parse(toml, "t.toml");
        assertThat(c.id()).isEqualTo("/snap-1");
        assertThat(c.backend().config()).isEqualTo(Map.of("dir", "/var/lib/blobs"));
        assertThat(c.cache().workDir()).isEqualTo("/var/cache/nydus");
        assertThat(c.rafs().prefetch().threads()).isEqualTo(2);
        assertThat(c.rafs().prefetch().prefetchAll()).isFalse(); // v2 default differs from v1
    }

    @Test
    void v2JsonParsesWithHyphenatedHttpProxyTable() {
        NydusdConfig c = NydusdConfigParser.parse(
                "{\"version\":2,\"backend\":{\"type\":\"http-proxy\",\"http-proxy\":{\"addr\":\"http://127.0.0.1:1\"}}}", "j");
        assertThat(c.backend().type()).isEqualTo("http-proxy");
        assertThat(c.cache().type()).isEmpty();
    }

    @Test
    void backendPluginTypesOnTheClassPathAreAcceptedAndListed() {
        NydusdConfig v1 = NydusdConfigParser.parse("""
                {"device":{"backend":{"type":"plugin-test","config":{"any":"thing"}}},"mode":"direct"}""", "v1");
        assertThat(v1.backend().type()).isEqualTo("plugin-test");
        NydusdConfig v2 = NydusdConfigParser.parse("""
                {"version":2,"backend":{"type":"plugin-test","plugin-test":{"x":1}}}""", "v2");
        assertThat(v2.backend().type()).isEqualTo("plugin-test");
        assertThatThrownBy(() -> NydusdConfigParser.parse("""
                {"version":2,"backend":{"type":"nosuch","nosuch":{}}}""", "v2"))
                .hasMessageContaining("unknown backend type 'nosuch'")
                .hasMessageContaining("plugin-test")
                .hasMessageContaining("registry");
    }

    @Test
    void unknownKeysAreIgnoredWithAWarningNamingPathAndSuggestion() {
        // as upstream: the key has no effect (the default applies) and the config is accepted
        NydusdConfig c = NydusdConfigParser.parse(SEED.replace("\"threads_count\"", "\"threads\""), "seed");
        assertThat(c.rafs().prefetch().threads()).isEqualTo(8);
        assertThat(NydusdConfigParser.parse(SEED.replace("\"work_dir\"", "\"work_dri\""), "seed").cache().workDir())
                .isNotEqualTo("cache");
        // a misspelt required key is still an error (after the warning about the unknown one)
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"mode\"", "\"mdoe\""), "seed"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("'mode' is required");
        // the warning text
        ConfigObject o = new ConfigObject("seed", "device.cache.config",
                new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("work_dri", "x"));
        o.string("work_dir", "");
        assertThat(o.unknownKeys()).containsExactly("nydusd config seed: ignoring unknown key"
                + " 'device.cache.config.work_dri' (did you mean 'work_dir'?); known keys here: [work_dir]");
    }

    @Test
    void upstreamSmokeTestTemplateIsAccepted() {
        // dragonflyoss/nydus smoke/tests/tool/nydusd.go configTpl, as its tests fill it in
        for (String cacheType : new String[]{"", "blobcache"}) {
            NydusdConfig c = NydusdConfigParser.parse("""
                     {
                         "device": {
                             "backend": {"type": "localfs", "config": {"dir": "/tmp/blobs"}},
                             "external_backend": {"config_path": ""},
                             "cache": {"type": "%s", "config": {"compressed": false, "work_dir": "/tmp/cache"}}
                         },
                         "mode": "direct",
                         "iostats_files": true,
                         "fs_prefetch": {"enable": false, "threads_count": 10, "merging_size": 131072},
                         "digest_validate": false,
                         "enable_xattr": true,
                         "latest_read_files": true,
                         "access_pattern": true,
                         "amplify_io": 0
                     }
                    """.formatted(cacheType), "smoke");
            assertThat(c.backend().type()).isEqualTo("localfs");
            assertThat(c.rafs().iostatsFiles()).isTrue();
            assertThat(c.rafs().latestReadFiles()).isTrue();
        }
    }

    @Test
    void legacyNoOpCacheKeysAreAccepted() {
        NydusdConfig c = NydusdConfigParser.parse(SEED.replace("\"work_dir\":\"cache\"",
                "\"work_dir\":\"cache\",\"readahead\":true,\"compressed\":false"), "seed");
        assertThat(c.cache().workDir()).isEqualTo("cache");
    }

    @Test
    void typeErrorsNameTheKey() {
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"enable_xattr\":true", "\"enable_xattr\":\"yes\""), "s"))
                .hasMessageContaining("'enable_xattr' must be a boolean");
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"threads_count\":4", "\"threads_count\":-1"), "s"))
                .hasMessageContaining("'fs_prefetch.threads_count' must be a non-negative integer");
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"mode\":\"direct\",", ""), "s"))
                .hasMessageContaining("'mode' is required");
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"blobcache\"", "\"memcache\""), "s"))
                .hasMessageContaining("unknown cache type 'memcache'")
                .hasMessageContaining("dummy, dummycache, filecache, fscache, memory-test");
        // the dummy synonym and a cache plugin on the class path (src/test/resources/META-INF/services) are known
        assertThat(NydusdConfigParser.parse(SEED.replace("\"blobcache\"", "\"dummy\""), "s").cache().type())
                .isEqualTo("dummy");
        assertThat(NydusdConfigParser.parse(SEED.replace("\"blobcache\"", "\"memory-test\""), "s").cache().type())
                .isEqualTo("memory-test");
        assertThatThrownBy(() -> NydusdConfigParser.parse(SEED.replace("\"registry\"", "\"http-proxy\""), "s"))
                .hasMessageContaining("http-proxy needs v2");
        assertThatThrownBy(() -> NydusdConfigParser.parse("{\"version\":3}", "s"))
                .hasMessageContaining("'version' must be 2");
        assertThatThrownBy(() -> NydusdConfigParser.parse("{\"device\": ", "s"))
                .hasMessageContaining("not valid JSON at line 1");
        assertThatThrownBy(() -> NydusdConfigParser.parse("[1,2]", "s")).isInstanceOf(ConfigException.class);
    }

    @Test
    void secretsNeverAppearInToString() {
        NydusdConfig c = NydusdConfigParser.parse(SEED.replace("\"auth\":\"\"", "\"auth\":\"dXNlcjpzZWNyZXQ=\""), "s");
        assertThat(c.toString()).doesNotContain("dXNlcjpzZWNyZXQ=").contains("<redacted>");
        assertThat(c.backend().config()).containsEntry("auth", "dXNlcjpzZWNyZXQ=");
    }

    @Test
    void fileSizeIsBounded(@TempDir Path tmp) throws Exception {
        Path big = tmp.resolve("big.json");
        Files.write(big, new byte[(int) NydusdConfigParser.MAX_FILE_SIZE + 1]);
        assertThatThrownBy(() -> NydusdConfigParser.parseFile(big)).hasMessageContaining("too big");
        Path ok = tmp.resolve("ok.json");
        Files.writeString(ok, SEED);
        assertThat(NydusdConfigParser.parseFile(ok).backend().type()).isEqualTo("registry");
    }
}
