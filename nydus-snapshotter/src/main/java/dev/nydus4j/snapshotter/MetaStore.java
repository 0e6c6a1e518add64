package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The snapshot metadata store: key (or committed name) to {@link SnapshotRecord}, persisted in one
 * {@link StateFile} ({@code metadata.json}) after every change, so it survives restarts and crashes with no server.
 * Bounded: at most {@link #MAX_SNAPSHOTS} snapshots, keys of at most {@link #MAX_KEY_BYTES} bytes and label pairs of
 * at most {@link #MAX_LABEL_PAIR_BYTES} bytes (containerd's own limit). Thread-safe (every method synchronized);
 * holds no open file.
 */
final class MetaStore {
    static final int MAX_SNAPSHOTS = 65_536;
    static final int MAX_KEY_BYTES = 4096;
    static final int MAX_LABEL_PAIR_BYTES = 4096;
    static final int MAX_LABELS = 512;

    /** On-disk shape of the store. */
    record State(@JsonProperty("version") int version, @JsonProperty("next_id") long nextId,
                 @JsonProperty("snapshots") List<SnapshotRecord> snapshots) {
    }

    private final StateFile<State> file;
    private final Clock clock;
    private final Map<String, SnapshotRecord> byKey = new LinkedHashMap<>();
    private long nextId = 1;

    private MetaStore(Path path, Clock clock) {
        this.file = new StateFile<>(path, State.class);
        this.clock = clock;
    }

    /** Loads the store at {@code path} (created on the first change). */
    static MetaStore open(Path path, Clock clock) throws IOException {
        MetaStore store = new MetaStore(path, clock);
        State state = store.file.load();
        if (state != null) {
            if (state.version() != 1) {
                throw new IOException("metadata store " + path + " has version " + state.version() + ", expected 1");
            }
            for (SnapshotRecord r : state.snapshots()) {
                if (store.byKey.put(r.key(), r) != null) {
                    throw new IOException("metadata store " + path + " lists snapshot " + r.key() + " twice");
                }
                store.nextId = Math.max(store.nextId, r.id() + 1);
            }
            store.nextId = Math.max(store.nextId, state.nextId());
        }
        return store;
    }

    synchronized Optional<SnapshotRecord> find(String key) {
        return Optional.ofNullable(byKey.get(key));
    }

    synchronized SnapshotRecord get(String key) {
        SnapshotRecord r = byKey.get(key);
        if (r == null) {
            throw SnapshotException.notFound("snapshot " + key);
        }
        return r;
    }

    /** The id the next {@link #create} will use; its directory can be made before the record is saved. */
    synchronized long peekNextId() {
        return nextId;
    }

    /**
     * Adds a snapshot with id {@code id} (from {@link #peekNextId()}).
     *
     * @throws SnapshotException ALREADY_EXISTS for a taken key, NOT_FOUND for a missing parent,
     *                           INVALID_ARGUMENT for a parent that is not committed or bad sizes
     */
    synchronized SnapshotRecord create(long id, String key, String parent, Kind kind, Map<String, String> labels)
            throws IOException {
        checkKey(key);
        checkLabels(labels);
        if (id != nextId) {
            throw new IllegalStateException("id " + id + " was not reserved; next is " + nextId);
        }
        if (byKey.containsKey(key)) {
            throw new SnapshotException(SnapshotException.Code.ALREADY_EXISTS, "snapshot " + key + ": already exists");
        }
        if (!parent.isEmpty()) {
            SnapshotRecord p = byKey.get(parent);
            if (p == null) {
                throw SnapshotException.notFound("parent snapshot " + parent);
            }
            if (p.kind() != Kind.COMMITTED) {
                throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                        "parent " + parent + " is " + p.kind() + ", expected COMMITTED");
            }
        }
        if (byKey.size() >= MAX_SNAPSHOTS) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION, "the store holds "
                    + byKey.size() + " snapshots, the limit; remove unused images first");
        }
        var now = clock.instant();
        SnapshotRecord r = new SnapshotRecord(id, key, parent, kind, now, now, labels, 0, 0);
        byKey.put(key, r);
        nextId = id + 1;
        saveOrRollback(() -> {
            byKey.remove(key);
            nextId = id;
        });
        return r;
    }

    /**
     * Turns ACTIVE {@code key} into COMMITTED {@code name}, merging {@code labels} into its own.
     *
     * @throws SnapshotException NOT_FOUND, ALREADY_EXISTS for a taken name, FAILED_PRECONDITION when not ACTIVE
     */
    synchronized SnapshotRecord commit(String name, String key, Map<String, String> labels, DiskUsage.Usage usage)
            throws IOException {
        checkKey(name);
        SnapshotRecord r = get(key);
        if (r.kind() != Kind.ACTIVE) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION,
                    "snapshot " + key + " is " + r.kind() + "; only ACTIVE snapshots can be committed");
        }
        if (byKey.containsKey(name)) {
            throw new SnapshotException(SnapshotException.Code.ALREADY_EXISTS, "snapshot " + name + ": already exists");
        }
        Map<String, String> merged = new LinkedHashMap<>(r.labels());
        merged.putAll(labels);
        checkLabels(merged);
        SnapshotRecord c = r.committed(name, merged, usage, clock.instant());
        byKey.remove(key);
        byKey.put(name, c);
        saveOrRollback(() -> {
            byKey.remove(name);
            byKey.put(key, r);
        });
        return c;
    }

    /**
     * Removes {@code key}.
     *
     * @throws SnapshotException NOT_FOUND, or FAILED_PRECONDITION when it still has children
     */
    synchronized SnapshotRecord remove(String key) throws IOException {
        SnapshotRecord r = get(key);
        List<String> children = byKey.values().stream().filter(c -> c.parent().equals(key))
                .map(SnapshotRecord::key).limit(3).toList();
        if (!children.isEmpty()) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION,
                    "cannot remove snapshot " + key + " with children " + children);
        }
        byKey.remove(key);
        saveOrRollback(() -> byKey.put(key, r));
        return r;
    }

    /** Replaces the labels of {@code key}. */
    synchronized SnapshotRecord updateLabels(String key, Map<String, String> labels) throws IOException {
        checkLabels(labels);
        SnapshotRecord r = get(key);
        SnapshotRecord u = r.withLabels(labels, clock.instant());
        byKey.put(key, u);
        saveOrRollback(() -> byKey.put(key, r));
        return u;
    }

    synchronized List<SnapshotRecord> list() {
        return new ArrayList<>(byKey.values());
    }

    /** Ids of every snapshot in the store: directories with other ids are orphans. */
    synchronized Set<Long> ids() {
        return byKey.values().stream().map(SnapshotRecord::id).collect(Collectors.toSet());
    }

    /** The chain from {@code key}'s parent up to the base layer, nearest first. */
    synchronized List<SnapshotRecord> ancestors(SnapshotRecord r) {
        List<SnapshotRecord> chain = new ArrayList<>();
        String p = r.parent();
        while (!p.isEmpty()) {
            SnapshotRecord next = byKey.get(p);
            if (next == null || chain.size() > byKey.size()) {
                throw new IllegalStateException("broken parent chain at " + p + " below " + r.key());
            }
            chain.add(next);
            p = next.parent();
        }
        return chain;
    }

    private void saveOrRollback(Runnable rollback) throws IOException {
        try {
            file.save(new State(1, nextId, new ArrayList<>(byKey.values())));
        } catch (IOException | RuntimeException e) {
            rollback.run();
            throw e;
        }
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT, "snapshot key is empty");
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                    "snapshot key is longer than " + MAX_KEY_BYTES + " bytes");
        }
    }

    private static void checkLabels(Map<String, String> labels) {
        if (labels.size() > MAX_LABELS) {
            throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                    labels.size() + " labels, more than the limit of " + MAX_LABELS);
        }
        for (var e : labels.entrySet()) {
            int len = e.getKey().getBytes(StandardCharsets.UTF_8).length
                    + e.getValue().getBytes(StandardCharsets.UTF_8).length;
            if (len > MAX_LABEL_PAIR_BYTES) {
                throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT, "label " + e.getKey()
                        + " is " + len + " bytes with its value, more than the limit of " + MAX_LABEL_PAIR_BYTES);
            }
        }
    }
}
