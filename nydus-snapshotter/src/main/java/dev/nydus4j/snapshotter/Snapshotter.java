package dev.nydus4j.snapshotter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The snapshotter's semantics (SNAPSHOTTER.md 1.5, 3, 7), independent of gRPC: plain OCI layers behave as in
 * containerd's overlayfs snapshotter; Nydus data blob layers are committed at once and answered ALREADY_EXISTS;
 * writable snapshots above a Nydus bootstrap layer get an overlay over the image's RAFS mount from
 * {@link RemoteFs}. Thread-safe: changes of the store and of snapshot directories are serialized on this object;
 * daemon start-up happens outside that lock. Owns the {@link RemoteFs} it is given.
 */
final class Snapshotter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshotter.class);

    private final Layout layout;
    private final MetaStore store;
    private final RemoteFs remote;
    private final boolean volatileUpper;

    /**
     * @param remote        serves Nydus images, or null to treat every image as plain OCI
     * @param volatileUpper add {@code volatile} to every writable overlay ({@code enable_overlayfs_volatile})
     */
    Snapshotter(Layout layout, MetaStore store, RemoteFs remote, boolean volatileUpper) {
        this.layout = Objects.requireNonNull(layout, "layout is null");
        this.store = Objects.requireNonNull(store, "store is null");
        this.remote = remote;
        this.volatileUpper = volatileUpper;
    }

    List<MountSpec> prepare(String key, String parent, Map<String, String> labels) throws IOException {
        String target = labels.get(Labels.TARGET_REF);
        if (target != null && Labels.isTrue(labels, Labels.NYDUS_BLOB)) {
            skipLayer(key, parent, target, labels);
        }
        return mountsOf(create(key, parent, Kind.ACTIVE, labels));
    }

    List<MountSpec> view(String key, String parent, Map<String, String> labels) throws IOException {
        if (!parent.isEmpty() && Labels.isTrue(store.get(parent).labels(), Labels.NYDUS_BLOB)) {
            throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT, "cannot view " + parent
                    + ": it is a Nydus data blob layer; only the topmost (bootstrap) layer of a Nydus image can be viewed");
        }
        return mountsOf(create(key, parent, Kind.VIEW, labels));
    }

    List<MountSpec> mounts(String key) throws IOException {
        SnapshotRecord r = store.get(key);
        if (r.kind() == Kind.COMMITTED) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION,
                    "snapshot " + key + " is committed; only active and view snapshots have mounts");
        }
        return mountsOf(r);
    }

    synchronized void commit(String name, String key, Map<String, String> labels) throws IOException {
        SnapshotRecord r = store.get(key);
        DiskUsage.Usage usage = r.kind() == Kind.ACTIVE ? DiskUsage.of(layout.fs(r.id())) : DiskUsage.Usage.ZERO;
        store.commit(name, key, labels, usage);
        LOG.debug("committed {} as {} ({} bytes, {} inodes)", key, name, usage.bytes(), usage.inodes());
    }

    void remove(String key) throws IOException {
        SnapshotRecord r;
        synchronized (this) {
            r = store.remove(key);
            if (r.kind() == Kind.COMMITTED) {
                removeBlobCache(r);
            }
        }
        if (remote != null && remote.instances().contains(r.id())) {
            remote.umount(r.id());
        }
        synchronized (this) {
            try {
                HostMounts.deleteTree(layout.snapshotDir(r.id()));
            } catch (IOException e) {
                LOG.warn("snapshot {} removed, but its directory stays until Cleanup: {}", key, e.getMessage());
            }
        }
    }

    SnapshotRecord stat(String key) {
        return store.get(key);
    }

    /**
     * Updates labels as containerd's storage does: an empty mask or the path {@code labels} replaces them all;
     * {@code labels.<k>} sets {@code k} from {@code labels}, or deletes it when absent there. Other fields are
     * immutable.
     */
    synchronized SnapshotRecord update(String key, Map<String, String> labels, List<String> paths) throws IOException {
        SnapshotRecord r = store.get(key);
        Map<String, String> next = new LinkedHashMap<>(r.labels());
        if (paths.isEmpty()) {
            next = new LinkedHashMap<>(labels);
        }
        for (String path : paths) {
            if (path.equals("labels")) {
                next = new LinkedHashMap<>(labels);
            } else if (path.startsWith("labels.")) {
                String k = path.substring("labels.".length());
                String v = labels.get(k);
                if (v == null || v.isEmpty()) {
                    next.remove(k);
                } else {
                    next.put(k, v);
                }
            } else {
                throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                        "cannot update " + path + " field on snapshot " + key + ": only labels are mutable");
            }
        }
        return store.updateLabels(key, next);
    }

    List<SnapshotRecord> list(List<String> filters) {
        ListFilter filter = ListFilter.parse(filters);
        return store.list().stream().filter(filter::matches).toList();
    }

    /**
     * As upstream's (and containerd's overlayfs) Usage: ACTIVE measured now; VIEW and COMMITTED as stored (a view's
     * is zero); a committed Nydus data blob layer adds its blob's files in the cache ({@code <root>/cache/<hex>*}),
     * found by {@code cri.layer-digest}.
     */
    DiskUsage.Usage usage(String key) throws IOException {
        SnapshotRecord r = store.get(key);
        if (r.kind() == Kind.ACTIVE) {
            return DiskUsage.of(layout.fs(r.id()));
        }
        DiskUsage.Usage u = new DiskUsage.Usage(r.size(), r.inodes());
        String blob = blobHex(r);
        if (r.kind() == Kind.COMMITTED && blob != null && Labels.isTrue(r.labels(), Labels.NYDUS_BLOB)) {
            u = u.plus(DiskUsage.ofFilesStartingWith(layout.cache(), blob));
        }
        return u;
    }

    /**
     * Upstream's Remove of a committed layer: the blob cache of its {@code cri.layer-digest} goes with it (blob data,
     * chunk map, blob meta: {@code <root>/cache/<hex>*}), unless another snapshot still names the same layer.
     * Best effort: a file that cannot be deleted is logged and left to the next removal.
     */
    private void removeBlobCache(SnapshotRecord removed) {
        String blob = blobHex(removed);
        if (blob == null || store.list().stream().anyMatch(o -> blob.equals(blobHex(o)))) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(layout.cache(),
                f -> f.getFileName().toString().startsWith(blob))) {
            for (Path f : files) {
                Files.deleteIfExists(f);
                LOG.info("removed blob cache file {} of layer {}", f.getFileName(), removed.key());
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // no cache directory yet: nothing cached
        } catch (IOException e) {
            LOG.warn("cannot remove the blob cache of layer {} ({}): {}", removed.key(),
                    removed.labels().get(Labels.CRI_LAYER_DIGEST), e.getMessage());
        }
    }

    /** The hex part of a snapshot's {@code cri.layer-digest} ({@code sha256:<64 hex>}), or null. */
    private static String blobHex(SnapshotRecord r) {
        String d = r.labels().get(Labels.CRI_LAYER_DIGEST);
        if (d == null || !d.matches("sha256:[0-9a-f]{64}")) {
            return null;
        }
        return d.substring("sha256:".length());
    }

    /** Unmounts instances and deletes directories no snapshot references. Idempotent. */
    void cleanup() throws IOException {
        Set<Long> live = store.ids();
        if (remote != null) {
            for (long id : Set.copyOf(remote.instances())) {
                if (!live.contains(id)) {
                    remote.umount(id);
                }
            }
        }
        List<Path> orphans = new ArrayList<>();
        synchronized (this) {
            live = store.ids();
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layout.snapshots())) {
                for (Path d : dirs) {
                    if (!isLiveId(d.getFileName().toString(), live)) {
                        orphans.add(d);
                    }
                }
            }
            for (Path d : orphans) {
                HostMounts.deleteTree(d);
                LOG.info("cleanup removed {}", d);
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (remote != null) {
            remote.close();
        }
    }

    private static boolean isLiveId(String name, Set<Long> live) {
        try {
            return live.contains(Long.parseLong(name));
        } catch (NumberFormatException e) {
            return false; // e.g. a directory left by a crash during creation
        }
    }

    /**
     * The remote-snapshot handshake for a Nydus data blob layer: commit {@code target} ourselves so containerd never
     * downloads the blob; ALREADY_EXISTS tells it to adopt the snapshot (List by ref and parent, then Stat).
     */
    private void skipLayer(String key, String parent, String target, Map<String, String> labels) throws IOException {
        synchronized (this) {
            if (store.find(target).isEmpty()) {
                create(key, parent, Kind.ACTIVE, labels);
                store.commit(target, key, Map.of(), DiskUsage.Usage.ZERO);
                LOG.info("skipped Nydus blob layer {} ({})", target, labels.get(Labels.CRI_LAYER_DIGEST));
            }
        }
        throw new SnapshotException(SnapshotException.Code.ALREADY_EXISTS,
                "target snapshot " + target + ": already exists");
    }

    private synchronized SnapshotRecord create(String key, String parent, Kind kind, Map<String, String> labels)
            throws IOException {
        if (store.find(key).isPresent()) {
            throw new SnapshotException(SnapshotException.Code.ALREADY_EXISTS, "snapshot " + key + ": already exists");
        }
        long id = store.peekNextId();
        Path dir = layout.snapshotDir(id);
        // a directory with a not yet recorded id is a leftover of a crash between mkdir and save
        HostMounts.deleteTree(dir);
        Files.createDirectories(layout.fs(id));
        if (kind == Kind.ACTIVE) {
            Files.createDirectories(layout.work(id));
        }
        try {
            return store.create(id, key, parent, kind, labels);
        } catch (IOException | RuntimeException e) {
            HostMounts.deleteTree(dir);
            throw e;
        }
    }

    private List<MountSpec> mountsOf(SnapshotRecord r) throws IOException {
        List<SnapshotRecord> parents = store.ancestors(r);
        Optional<SnapshotRecord> bootstrap = remote == null || r.labels().containsKey(Labels.TARGET_REF)
                ? Optional.empty()
                : parents.stream().filter(p -> Labels.isTrue(p.labels(), Labels.NYDUS_BOOTSTRAP)).findFirst();
        boolean vol = volatileUpper || Labels.isTrue(r.labels(), Labels.OVERLAY_VOLATILE);
        if (bootstrap.isEmpty()) {
            return NativeMounts.of(layout, r, parents, vol);
        }
        Path mountpoint = remote.mount(bootstrap.get());
        return NativeMounts.remote(layout, r, parents.subList(0, parents.indexOf(bootstrap.get())), mountpoint, vol);
    }
}
