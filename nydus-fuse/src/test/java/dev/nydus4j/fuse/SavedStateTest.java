package dev.nydus4j.fuse;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.storage.config.NydusdConfigParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The takeover plumbing without FUSE: the state JSON round trip (configs come back equal, secrets included, since
 * the next daemon must reach the same backend), its errors, the numbering restore checks, and descriptor passing
 * over {@link FdSocket}.
 */
class SavedStateTest {
    private static final String REGISTRY = "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{"
            + "\"host\":\"127.0.0.1:5000\",\"repo\":\"lib/app\",\"scheme\":\"http\",\"auth\":\"dXNlcjpwYXNz\","
            + "\"timeout\":7,\"connect_timeout\":3,\"retry_limit\":2}},\"cache\":{\"type\":\"blobcache\","
            + "\"config\":{\"work_dir\":\"/var/cache/n\"}}},\"mode\":\"direct\",\"digest_validate\":false,"
            + "\"iostats_files\":true,\"enable_xattr\":true,\"amplify_io\":1048576,"
            + "\"fs_prefetch\":{\"enable\":true,\"threads_count\":4,\"merging_size\":131072}}";
    private static final String LOCALFS = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{"
            + "\"dir\":\"/blobs\"}}},\"mode\":\"direct\"}";

    @Test
    void stateRoundTripsWithEqualConfigs() throws IOException {
        NydusdConfig reg = NydusdConfigParser.parse(REGISTRY, "registry");
        NydusdConfig local = NydusdConfigParser.parse(LOCALFS, "localfs");
        SavedState st = new SavedState("d1", "/mnt/x",
                new FuseInit.Negotiated(31, FuseInit.WANTED, 131072, 256, 1 << 20),
                new MountTable.Numbering(3, Map.of("/snap", 2L), 3), List.of("absent"),
                List.of(new SavedState.Mount("/snap/1", 1, "/b/1.boot", reg, List.of("/etc", "/usr/bin"),
                                "bmV3OmF1dGg="),
                        new SavedState.Mount("/snap/2", 2, "/b/2.boot", local, null, null)));
        SavedState back = SavedState.parse(st.toJson(), "test");
        assertThat(back).isEqualTo(st);
        assertThat(back.mounts().get(0).config()).isEqualTo(reg);
        assertThat(back.mounts().get(0).config().backend().config()).containsEntry("auth", "dXNlcjpwYXNz");
        assertThat(back.mounts().get(1).prefetchFiles()).isNull();
        assertThat(back.mounts().get(0).registryAuth()).isEqualTo("bmV3OmF1dGg=");
        assertThat(back.mounts().get(1).registryAuth()).isNull();
    }

    @Test
    void badStatesAreRefusedNamingTheSourceAndField() {
        assertThatThrownBy(() -> SavedState.parse("not json".getBytes(StandardCharsets.UTF_8), "sup.sock"))
                .hasMessageContaining("sup.sock").hasMessageContaining("not JSON");
        assertThatThrownBy(() -> SavedState.parse("{\"format\":\"other\"}".getBytes(StandardCharsets.UTF_8), "s"))
                .hasMessageContaining("expected format '" + SavedState.FORMAT + "', found 'other'");
        assertThatThrownBy(() -> SavedState.parse(("{\"format\":\"" + SavedState.FORMAT + "\",\"mountpoint\":\"/m\"}")
                .getBytes(StandardCharsets.UTF_8), "s")).hasMessageContaining("no 'fuse_init'");
        String badPages = "{\"format\":\"" + SavedState.FORMAT + "\",\"mountpoint\":\"/m\",\"fuse_init\":{\"minor\":31,"
                + "\"flags\":0,\"max_readahead\":0,\"max_pages\":9999,\"max_write\":4096},\"next_instance_number\":1,"
                + "\"next_pseudo_ino\":2,\"pseudo_inos\":{},\"mounts\":[]}";
        assertThatThrownBy(() -> SavedState.parse(badPages.getBytes(StandardCharsets.UTF_8), "s"))
                .hasMessageContaining("max_pages 9999");
    }

    @Test
    void numberingIsRestoredOnlyWhenConsistent() {
        MountTable t = new MountTable();
        t.restoreNumbering(new MountTable.Numbering(4, Map.of("/a", 2L, "/a/b", 3L), 4));
        assertThat(t.pseudoIno("/a/b")).isEqualTo(3);
        assertThat(t.nextNumber()).isEqualTo(4);
        assertThatThrownBy(() -> new MountTable().restoreNumbering(new MountTable.Numbering(2, Map.of("/a", 7L), 4)))
                .hasMessageContaining("/a has an invalid inode number 7");
        assertThatThrownBy(() -> new MountTable().restoreNumbering(
                new MountTable.Numbering(2, Map.of("/a", 2L, "/b", 2L), 4))).hasMessageContaining("given twice");
    }

    @Test
    void aDescriptorAndALargeMessagePassThroughTheSocket(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("payload.txt"), "passed\n");
        byte[] data = new byte[(1 << 20) + 12345]; // several recvmsg(2) calls
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        Path sock = tmp.resolve("s.sock");
        try (FdSocket listener = FdSocket.listen(sock);
             java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "r")) {
            CompletableFuture<FdSocket.Message> got = CompletableFuture.supplyAsync(() -> {
                try (FdSocket c = listener.accept(10_000)) {
                    return c.receive(4 << 20, 10_000);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            int fd = LibC.open(file.toString(), 0);
            try (FdSocket c = FdSocket.connect(sock)) {
                c.send(data, fd);
            } finally {
                FdSocket.closeFd(fd);
            }
            FdSocket.Message m = got.get(10, TimeUnit.SECONDS);
            assertThat(m.data()).isEqualTo(data);
            assertThat(m.fds()).hasSize(1);
            try {
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + m.fds()[0]))).isEqualTo(file);
            } finally {
                FdSocket.closeFd(m.fds()[0]);
            }
        }
    }

    @Test
    void socketErrorsAreClear(@TempDir Path tmp) throws IOException {
        assertThatThrownBy(() -> FdSocket.connect(tmp.resolve("nobody.sock")))
                .hasMessageContaining("nobody.sock").hasMessageContaining("ENOENT");
        try (FdSocket l = FdSocket.listen(tmp.resolve("quiet.sock"))) {
            assertThatThrownBy(() -> l.accept(100)).isInstanceOf(java.net.SocketTimeoutException.class)
                    .hasMessageContaining("within 100 ms");
        }
        assertThatThrownBy(() -> FdSocket.listen(tmp.resolve("x".repeat(120))))
                .hasMessageContaining("at most 107 fit");
    }
}
