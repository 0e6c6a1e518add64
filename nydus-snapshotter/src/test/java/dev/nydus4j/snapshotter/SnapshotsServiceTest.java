package dev.nydus4j.snapshotter;

import com.google.protobuf.FieldMask;
import dev.nydus4j.snapshotter.proto.snapshots.CleanupRequest;
import dev.nydus4j.snapshotter.proto.snapshots.CommitSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.Info;
import dev.nydus4j.snapshotter.proto.snapshots.Kind;
import dev.nydus4j.snapshotter.proto.snapshots.ListSnapshotsRequest;
import dev.nydus4j.snapshotter.proto.snapshots.MountsRequest;
import dev.nydus4j.snapshotter.proto.snapshots.PrepareSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.RemoveSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.StatSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.UpdateSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.UsageRequest;
import dev.nydus4j.snapshotter.proto.snapshots.ViewSnapshotRequest;
import dev.nydus4j.snapshotter.proto.types.Mount;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The contract containerd relies on, over a real gRPC connection on a Unix socket (SNAPSHOTTER.md 12.4): the
 * sequences observed with containerd 1.6, mount shapes of the overlayfs snapshotter, error codes, Update masks,
 * Usage, Cleanup and persistence across a restart.
 */
class SnapshotsServiceTest {
    @TempDir
    Path tmp;
    private SnapshotterServer server;
    private SnapshotsClient client;
    private Path root;

    @BeforeEach
    void start() throws Exception {
        root = tmp.resolve("root");
        server = SnapshotterServer.start(config());
        client = new SnapshotsClient(server.socket());
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        server.close();
    }

    private SnapshotterConfig config() {
        return new SnapshotterConfig(root, tmp.resolve("run/grpc.sock"), null, "nydusd",
                SnapshotterConfig.DaemonMode.DEDICATED, 0, "info", true, false, false, tmp.resolve("none.json"));
    }

    private List<Mount> prepare(String key, String parent, Map<String, String> labels) {
        return client.stub.prepare(PrepareSnapshotRequest.newBuilder().setSnapshotter("nydus").setKey(key)
                .setParent(parent).putAllLabels(labels).build()).getMountsList();
    }

    private void commit(String name, String key) {
        client.stub.commit(CommitSnapshotRequest.newBuilder().setSnapshotter("nydus").setName(name).setKey(key).build());
    }

    private Info stat(String key) {
        return client.stub.stat(StatSnapshotRequest.newBuilder().setKey(key).build()).getInfo();
    }

    private static Status.Code code(Runnable r) {
        try {
            r.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        throw new AssertionError("expected a gRPC error");
    }

    @Test
    void layersUnpackAndContainerMountsAsOverlayfsSnapshotter() throws Exception {
        List<Mount> m1 = prepare("e2e/1/extract-1 sha256:aaa", "", Map.of());
        assertThat(m1).hasSize(1);
        assertThat(m1.get(0).getType()).isEqualTo("bind");
        assertThat(m1.get(0).getOptionsList()).containsExactly("rw", "rbind");
        Path fs1 = Path.of(m1.get(0).getSource());
        assertThat(fs1).isEqualTo(root.resolve("snapshots/1/fs")).isDirectory();
        Files.writeString(fs1.resolve("hello.txt"), "hello");
        commit("e2e/2/sha256:aaa", "e2e/1/extract-1 sha256:aaa");

        List<Mount> m2 = prepare("e2e/3/extract-2 sha256:bbb", "e2e/2/sha256:aaa", Map.of());
        assertThat(m2.get(0).getType()).isEqualTo("overlay");
        assertThat(m2.get(0).getSource()).isEqualTo("overlay");
        assertThat(m2.get(0).getOptionsList()).containsExactly("workdir=" + root.resolve("snapshots/2/work"),
                "upperdir=" + root.resolve("snapshots/2/fs"), "lowerdir=" + fs1);
        commit("e2e/4/sha256:bbb", "e2e/3/extract-2 sha256:bbb");

        List<Mount> c = prepare("e2e/5/ctr", "e2e/4/sha256:bbb", Map.of());
        assertThat(c.get(0).getOptionsList()).containsExactly("workdir=" + root.resolve("snapshots/3/work"),
                "upperdir=" + root.resolve("snapshots/3/fs"),
                "lowerdir=" + root.resolve("snapshots/2/fs") + ":" + root.resolve("snapshots/1/fs"));
        // Mounts must return what Prepare returned
        assertThat(client.stub.mounts(MountsRequest.newBuilder().setKey("e2e/5/ctr").build()).getMountsList())
                .isEqualTo(c);

        // views: one parent = read-only bind of it; two parents = overlay without upper
        List<Mount> v1 = client.stub.view(ViewSnapshotRequest.newBuilder().setKey("v1").setParent("e2e/2/sha256:aaa")
                .build()).getMountsList();
        assertThat(v1.get(0).getType()).isEqualTo("bind");
        assertThat(v1.get(0).getSource()).isEqualTo(fs1.toString());
        assertThat(v1.get(0).getOptionsList()).containsExactly("ro", "rbind");
        List<Mount> v2 = client.stub.view(ViewSnapshotRequest.newBuilder().setKey("v2").setParent("e2e/4/sha256:bbb")
                .build()).getMountsList();
        assertThat(v2.get(0).getOptionsList()).containsExactly(
                "lowerdir=" + root.resolve("snapshots/2/fs") + ":" + fs1);
        assertThat(stat("v2").getKind()).isEqualTo(Kind.VIEW);
        List<Mount> v0 = client.stub.view(ViewSnapshotRequest.newBuilder().setKey("v0").build()).getMountsList();
        assertThat(v0.get(0).getOptionsList()).containsExactly("ro", "rbind");

        Info info = stat("e2e/4/sha256:bbb");
        assertThat(info.getKind()).isEqualTo(Kind.COMMITTED);
        assertThat(info.getParent()).isEqualTo("e2e/2/sha256:aaa");
        assertThat(info.getCreatedAt().getSeconds()).isPositive();
    }

    @Test
    void volatileLabelAddsTheOption() {
        prepare("base", "", Map.of());
        commit("base-c", "base");
        List<Mount> m = prepare("c", "base-c", Map.of(Labels.OVERLAY_VOLATILE, "true"));
        assertThat(m.get(0).getOptionsList()).contains("volatile");
    }

    @Test
    void nydusBlobLayerIsCommittedAndAnsweredAlreadyExists() {
        Map<String, String> labels = Map.of(Labels.TARGET_REF, "sha256:c1", Labels.NYDUS_BLOB, "true",
                Labels.CRI_IMAGE_REF, "127.0.0.1:5000/e2e/busybox-nydus:latest");
        assertThat(code(() -> prepare("k8s.io/1/extract-1 sha256:c1", "", labels))).isEqualTo(Status.Code.ALREADY_EXISTS);
        // the handshake: containerd then lists by ref and parent and adopts the first COMMITTED match
        List<Info> found = new ArrayList<>();
        client.stub.list(ListSnapshotsRequest.newBuilder()
                .addFilters("labels.\"containerd.io/snapshot.ref\"==sha256:c1,parent==\"\"").build())
                .forEachRemaining(r -> found.addAll(r.getInfoList()));
        assertThat(found).singleElement().satisfies(i -> {
            assertThat(i.getName()).isEqualTo("sha256:c1");
            assertThat(i.getKind()).isEqualTo(Kind.COMMITTED);
            assertThat(i.getParent()).isEmpty();
            assertThat(i.getLabelsMap()).containsEntry(Labels.NYDUS_BLOB, "true");
        });
        assertThat(code(() -> stat("k8s.io/1/extract-1 sha256:c1"))).isEqualTo(Status.Code.NOT_FOUND);
        // a second image with the same layer: still ALREADY_EXISTS, nothing new
        assertThat(code(() -> prepare("k8s.io/9/extract-9 sha256:c1", "", labels))).isEqualTo(Status.Code.ALREADY_EXISTS);
        // a filter that does not match
        List<Info> none = new ArrayList<>();
        client.stub.list(ListSnapshotsRequest.newBuilder()
                .addFilters("labels.\"containerd.io/snapshot.ref\"==sha256:c1,parent==other").build())
                .forEachRemaining(r -> none.addAll(r.getInfoList()));
        assertThat(none).isEmpty();
        // the bootstrap layer on top is unpacked by containerd (native mounts)
        List<Mount> boot = prepare("k8s.io/2/extract-2 sha256:c2", "sha256:c1", Map.of(Labels.TARGET_REF, "sha256:c2",
                Labels.NYDUS_BOOTSTRAP, "true"));
        assertThat(boot.get(0).getType()).isEqualTo("overlay");
        assertThat(boot.get(0).getOptionsList()).contains("lowerdir=" + root.resolve("snapshots/1/fs"));
    }

    @Test
    void errorCodesFollowContainerd() {
        prepare("a", "", Map.of());
        assertThat(code(() -> prepare("a", "", Map.of()))).isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(code(() -> prepare("b", "missing", Map.of()))).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> prepare("b", "a", Map.of()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        commit("a-c", "a");
        assertThat(code(() -> commit("x", "a-c"))).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(code(() -> commit("x", "nope"))).isEqualTo(Status.Code.NOT_FOUND);
        prepare("child", "a-c", Map.of());
        assertThat(code(() -> commit("a-c", "child"))).isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(code(() -> client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("a-c").build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(code(() -> client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("zzz").build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> client.stub.mounts(MountsRequest.newBuilder().setKey("a-c").build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(code(() -> prepare("", "", Map.of()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(code(() -> prepare("big", "", Map.of("k", "v".repeat(5000))))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("child").build());
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("a-c").build());
        assertThat(code(() -> stat("a-c"))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void updateFollowsTheMask() {
        prepare("u", "", Map.of("containerd.io/snapshot/a", "1", "containerd.io/snapshot/b", "2"));
        Info in = Info.newBuilder().setName("u").putLabels("containerd.io/snapshot/a", "9")
                .putLabels("containerd.io/snapshot/c", "3").build();
        Info out = client.stub.update(UpdateSnapshotRequest.newBuilder().setInfo(in)
                .setUpdateMask(FieldMask.newBuilder().addPaths("labels.containerd.io/snapshot/a")
                        .addPaths("labels.containerd.io/snapshot/b")).build()).getInfo();
        // a: set; b: absent from info = delete; c: not in the mask = untouched (not added)
        assertThat(out.getLabelsMap()).containsExactlyEntriesOf(Map.of("containerd.io/snapshot/a", "9"));
        Info all = client.stub.update(UpdateSnapshotRequest.newBuilder().setInfo(in).build()).getInfo();
        assertThat(all.getLabelsMap()).isEqualTo(in.getLabelsMap());
        assertThat(all.getUpdatedAt().getSeconds() * 1_000_000_000L + all.getUpdatedAt().getNanos())
                .isGreaterThanOrEqualTo(all.getCreatedAt().getSeconds() * 1_000_000_000L + all.getCreatedAt().getNanos());
        assertThat(code(() -> client.stub.update(UpdateSnapshotRequest.newBuilder().setInfo(in)
                .setUpdateMask(FieldMask.newBuilder().addPaths("parent")).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(code(() -> client.stub.update(UpdateSnapshotRequest.newBuilder()
                .setInfo(Info.newBuilder().setName("nope")).build()))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void usageMeasuresActiveAndStoresCommitted() throws Exception {
        List<Mount> m = prepare("w", "", Map.of());
        Path fs = Path.of(m.get(0).getSource());
        Files.write(fs.resolve("a"), new byte[10_000]);
        Files.createDirectories(fs.resolve("d"));
        Files.write(fs.resolve("d/b"), new byte[5_000]);
        Files.createLink(fs.resolve("d/hard"), fs.resolve("a")); // counted once
        Files.write(fs.resolve("sparse"), new byte[0]);
        try (var ch = java.nio.channels.FileChannel.open(fs.resolve("sparse"),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[]{1}), 50L << 20); // 50 MiB apparent, one block allocated
        }
        var u = client.stub.usage(UsageRequest.newBuilder().setKey("w").build());
        assertThat(u.getInodes()).isEqualTo(5); // fs, a, d, d/b, sparse
        // allocated blocks, as containerd's fs.DiskUsage (and its overlayfs snapshotter) and du -B1 count them
        assertThat(u.getSize()).isEqualTo(duBytes(fs)).isLessThan(1 << 20);
        commit("w-c", "w");
        Files.write(fs.resolve("late"), new byte[1_000_000]); // after commit: not counted
        var c = client.stub.usage(UsageRequest.newBuilder().setKey("w-c").build());
        assertThat(c.getSize()).isEqualTo(u.getSize());
        assertThat(c.getInodes()).isEqualTo(5);
        // a view's usage is what was stored for it, nothing (overlayfs and upstream measure only active ones)
        client.stub.view(ViewSnapshotRequest.newBuilder().setKey("v").setParent("w-c").build());
        var v = client.stub.usage(UsageRequest.newBuilder().setKey("v").build());
        assertThat(v.getSize()).isZero();
        assertThat(v.getInodes()).isZero();
    }

    @Test
    void blobLayerUsageCountsItsCacheAndRemoveDeletesIt() throws Exception {
        String hex = "ab".repeat(32);
        String other = "cd".repeat(32);
        Map<String, String> labels = Map.of("containerd.io/snapshot.ref", "sha256:" + "01".repeat(32),
                "containerd.io/snapshot/nydus-blob", "true",
                "containerd.io/snapshot/cri.layer-digest", "sha256:" + hex);
        assertThat(code(() -> prepare("x/1/extract-1 blob", "", labels))).isEqualTo(Status.Code.ALREADY_EXISTS);
        String target = "sha256:" + "01".repeat(32);
        var empty = client.stub.usage(UsageRequest.newBuilder().setKey(target).build());
        assertThat(empty.getSize()).isZero();
        Path cache = Files.createDirectories(root.resolve("cache"));
        Files.write(cache.resolve(hex + ".blob.data"), new byte[100_000]);
        Files.write(cache.resolve(hex + ".blob.data.chunk_map"), new byte[4097]);
        Files.write(cache.resolve(other + ".blob.data"), new byte[10]);
        var u = client.stub.usage(UsageRequest.newBuilder().setKey(target).build());
        assertThat(u.getInodes()).isEqualTo(2);
        assertThat(u.getSize()).isGreaterThanOrEqualTo(104_097).isEqualTo(duBytes(cache.resolve(hex + ".blob.data"))
                + duBytes(cache.resolve(hex + ".blob.data.chunk_map")));
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey(target).build());
        // as upstream's Remove: the layer's blob cache goes with it; other blobs stay
        assertThat(cache.resolve(hex + ".blob.data")).doesNotExist();
        assertThat(cache.resolve(hex + ".blob.data.chunk_map")).doesNotExist();
        assertThat(cache.resolve(other + ".blob.data")).exists();
    }

    @Test
    void blobCacheStaysWhileAnotherLayerNamesTheSameBlob() throws Exception {
        String hex = "ef".repeat(32);
        for (String chain : List.of("02", "03")) {
            Map<String, String> labels = Map.of("containerd.io/snapshot.ref", "sha256:" + chain.repeat(32),
                    "containerd.io/snapshot/nydus-blob", "true",
                    "containerd.io/snapshot/cri.layer-digest", "sha256:" + hex);
            assertThat(code(() -> prepare("x/1/extract-" + chain, "", labels)))
                    .isEqualTo(Status.Code.ALREADY_EXISTS);
        }
        Path blob = Files.createDirectories(root.resolve("cache")).resolve(hex + ".blob.data");
        Files.write(blob, new byte[10]);
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("sha256:" + "02".repeat(32)).build());
        assertThat(blob).exists();
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("sha256:" + "03".repeat(32)).build());
        assertThat(blob).doesNotExist();
    }

    /** {@code du -s -B1} of a directory: its allocated bytes. */
    private static long duBytes(Path dir) throws Exception {
        Process p = new ProcessBuilder("du", "-s", "-B1", dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return Long.parseLong(out.split("\\s+")[0]);
    }

    @Test
    void cleanupRemovesOrphansAndIsIdempotent() throws Exception {
        prepare("keep", "", Map.of());
        Path orphan = root.resolve("snapshots/77/fs");
        Files.createDirectories(orphan);
        Files.writeString(orphan.resolve("x"), "x");
        Files.createDirectories(root.resolve("snapshots/new-123"));
        client.stub.cleanup(CleanupRequest.getDefaultInstance());
        client.stub.cleanup(CleanupRequest.getDefaultInstance());
        assertThat(root.resolve("snapshots/77")).doesNotExist();
        assertThat(root.resolve("snapshots/new-123")).doesNotExist();
        assertThat(root.resolve("snapshots/1/fs")).isDirectory();
        client.stub.remove(RemoveSnapshotRequest.newBuilder().setKey("keep").build());
        assertThat(root.resolve("snapshots/1")).doesNotExist();
    }

    @Test
    void snapshotsSurviveARestart() throws Exception {
        prepare("p", "", Map.of("containerd.io/snapshot/x", "1"));
        commit("p-c", "p");
        prepare("q", "p-c", Map.of());
        client.close();
        server.close();
        server = SnapshotterServer.start(config());
        client = new SnapshotsClient(server.socket());
        assertThat(stat("p-c").getLabelsMap()).containsEntry("containerd.io/snapshot/x", "1");
        assertThat(stat("q").getKind()).isEqualTo(Kind.ACTIVE);
        // ids keep counting: a new snapshot does not reuse a directory
        List<Mount> m = prepare("r", "", Map.of());
        assertThat(m.get(0).getSource()).isEqualTo(root.resolve("snapshots/3/fs").toString());
        List<Info> all = new ArrayList<>();
        client.stub.list(ListSnapshotsRequest.getDefaultInstance()).forEachRemaining(r -> all.addAll(r.getInfoList()));
        assertThat(all).extracting(Info::getName).containsExactlyInAnyOrder("p-c", "q", "r");
    }
}
