package dev.nydus4j.snapshotter;

import com.google.protobuf.Empty;
import com.google.protobuf.Timestamp;
import dev.nydus4j.snapshotter.proto.snapshots.CleanupRequest;
import dev.nydus4j.snapshotter.proto.snapshots.CommitSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.Info;
import dev.nydus4j.snapshotter.proto.snapshots.ListSnapshotsRequest;
import dev.nydus4j.snapshotter.proto.snapshots.ListSnapshotsResponse;
import dev.nydus4j.snapshotter.proto.snapshots.MountsRequest;
import dev.nydus4j.snapshotter.proto.snapshots.MountsResponse;
import dev.nydus4j.snapshotter.proto.snapshots.PrepareSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.PrepareSnapshotResponse;
import dev.nydus4j.snapshotter.proto.snapshots.RemoveSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.SnapshotsGrpc;
import dev.nydus4j.snapshotter.proto.snapshots.StatSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.StatSnapshotResponse;
import dev.nydus4j.snapshotter.proto.snapshots.UpdateSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.UpdateSnapshotResponse;
import dev.nydus4j.snapshotter.proto.snapshots.UsageRequest;
import dev.nydus4j.snapshotter.proto.snapshots.UsageResponse;
import dev.nydus4j.snapshotter.proto.snapshots.ViewSnapshotRequest;
import dev.nydus4j.snapshotter.proto.snapshots.ViewSnapshotResponse;
import dev.nydus4j.snapshotter.proto.types.Mount;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * {@code containerd.services.snapshots.v1.Snapshots} on top of {@link Snapshotter}: converts messages and maps
 * {@link SnapshotException} codes (and everything else) to gRPC status codes, once, here. Thread-safe.
 */
final class SnapshotsService extends SnapshotsGrpc.SnapshotsImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotsService.class);
    /** containerd's own server sends List results in batches of this size. */
    private static final int LIST_BATCH = 100;

    /** One RPC body that may fail. */
    private interface Call<T> {
        T run() throws IOException;
    }

    private final Snapshotter snapshotter;

    SnapshotsService(Snapshotter snapshotter) {
        this.snapshotter = snapshotter;
    }

    @Override
    public void prepare(PrepareSnapshotRequest req, StreamObserver<PrepareSnapshotResponse> out) {
        unary("Prepare", req.getKey(), out, () -> PrepareSnapshotResponse.newBuilder()
                .addAllMounts(toProto(snapshotter.prepare(req.getKey(), req.getParent(), req.getLabelsMap()))).build());
    }

    @Override
    public void view(ViewSnapshotRequest req, StreamObserver<ViewSnapshotResponse> out) {
        unary("View", req.getKey(), out, () -> ViewSnapshotResponse.newBuilder()
                .addAllMounts(toProto(snapshotter.view(req.getKey(), req.getParent(), req.getLabelsMap()))).build());
    }

    @Override
    public void mounts(MountsRequest req, StreamObserver<MountsResponse> out) {
        unary("Mounts", req.getKey(), out, () -> MountsResponse.newBuilder()
                .addAllMounts(toProto(snapshotter.mounts(req.getKey()))).build());
    }

    @Override
    public void commit(CommitSnapshotRequest req, StreamObserver<Empty> out) {
        unary("Commit", req.getKey() + " -> " + req.getName(), out, () -> {
            snapshotter.commit(req.getName(), req.getKey(), req.getLabelsMap());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void remove(RemoveSnapshotRequest req, StreamObserver<Empty> out) {
        unary("Remove", req.getKey(), out, () -> {
            snapshotter.remove(req.getKey());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void stat(StatSnapshotRequest req, StreamObserver<StatSnapshotResponse> out) {
        unary("Stat", req.getKey(), out,
                () -> StatSnapshotResponse.newBuilder().setInfo(toProto(snapshotter.stat(req.getKey()))).build());
    }

    @Override
    public void update(UpdateSnapshotRequest req, StreamObserver<UpdateSnapshotResponse> out) {
        unary("Update", req.getInfo().getName(), out, () -> UpdateSnapshotResponse.newBuilder()
                .setInfo(toProto(snapshotter.update(req.getInfo().getName(), req.getInfo().getLabelsMap(),
                        req.getUpdateMask().getPathsList())))
                .build());
    }

    @Override
    public void list(ListSnapshotsRequest req, StreamObserver<ListSnapshotsResponse> out) {
        LOG.debug("List {}", req.getFiltersList());
        List<SnapshotRecord> all;
        try {
            all = snapshotter.list(req.getFiltersList());
        } catch (RuntimeException e) {
            out.onError(toStatus("List", e));
            return;
        }
        for (int i = 0; i < all.size(); i += LIST_BATCH) {
            ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder();
            all.subList(i, Math.min(all.size(), i + LIST_BATCH)).forEach(r -> b.addInfo(toProto(r)));
            out.onNext(b.build());
        }
        out.onCompleted();
    }

    @Override
    public void usage(UsageRequest req, StreamObserver<UsageResponse> out) {
        unary("Usage", req.getKey(), out, () -> {
            DiskUsage.Usage u = snapshotter.usage(req.getKey());
            return UsageResponse.newBuilder().setSize(u.bytes()).setInodes(u.inodes()).build();
        });
    }

    @Override
    public void cleanup(CleanupRequest req, StreamObserver<Empty> out) {
        unary("Cleanup", "", out, () -> {
            snapshotter.cleanup();
            return Empty.getDefaultInstance();
        });
    }

    private static <T> void unary(String rpc, String key, StreamObserver<T> out, Call<T> call) {
        LOG.debug("{} {}", rpc, key);
        T result;
        try {
            result = call.run();
        } catch (IOException | RuntimeException e) {
            out.onError(toStatus(rpc + " " + key, e));
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    static StatusRuntimeException toStatus(String what, Exception e) {
        Status status;
        if (e instanceof SnapshotException se) {
            status = switch (se.code()) {
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
                case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                case UNAVAILABLE -> Status.UNAVAILABLE;
            };
            LOG.debug("{}: {}", what, e.getMessage());
        } else if (e instanceof IllegalArgumentException) {
            status = Status.INVALID_ARGUMENT;
            LOG.debug("{}: {}", what, e.getMessage());
        } else {
            status = Status.UNKNOWN;
            LOG.warn("{} failed", what, e);
        }
        return status.withDescription(e.getMessage()).asRuntimeException();
    }

    static List<Mount> toProto(List<MountSpec> mounts) {
        return mounts.stream().map(m -> Mount.newBuilder().setType(m.type()).setSource(m.source())
                .addAllOptions(m.options()).build()).toList();
    }

    static Info toProto(SnapshotRecord r) {
        return Info.newBuilder()
                .setName(r.key())
                .setParent(r.parent())
                .setKind(switch (r.kind()) {
                    case VIEW -> dev.nydus4j.snapshotter.proto.snapshots.Kind.VIEW;
                    case ACTIVE -> dev.nydus4j.snapshotter.proto.snapshots.Kind.ACTIVE;
                    case COMMITTED -> dev.nydus4j.snapshotter.proto.snapshots.Kind.COMMITTED;
                })
                .setCreatedAt(timestamp(r.created()))
                .setUpdatedAt(timestamp(r.updated()))
                .putAllLabels(r.labels())
                .build();
    }

    private static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
