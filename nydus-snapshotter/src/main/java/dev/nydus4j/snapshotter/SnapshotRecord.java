package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One snapshot as the metadata store keeps it: containerd's key (or committed name), parent name ("" for none),
 * kind, times, labels, and the disk usage computed at commit. {@code id} names its directory
 * {@code <root>/snapshots/<id>}. Immutable; labels are copied into a sorted map.
 */
record SnapshotRecord(
        @JsonProperty("id") long id,
        @JsonProperty("key") String key,
        @JsonProperty("parent") String parent,
        @JsonProperty("kind") Kind kind,
        @JsonProperty("created") Instant created,
        @JsonProperty("updated") Instant updated,
        @JsonProperty("labels") Map<String, String> labels,
        @JsonProperty("size") long size,
        @JsonProperty("inodes") long inodes) {

    SnapshotRecord {
        Objects.requireNonNull(key, "key is null");
        Objects.requireNonNull(kind, "kind is null");
        Objects.requireNonNull(created, "created is null");
        Objects.requireNonNull(updated, "updated is null");
        parent = parent == null ? "" : parent;
        labels = labels == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
        if (id <= 0) {
            throw new IllegalArgumentException("snapshot id must be positive, got " + id);
        }
    }

    String label(String name) {
        return labels.get(name);
    }

    SnapshotRecord withLabels(Map<String, String> newLabels, Instant now) {
        return new SnapshotRecord(id, key, parent, kind, created, now, newLabels, size, inodes);
    }

    SnapshotRecord committed(String name, Map<String, String> newLabels, DiskUsage.Usage usage, Instant now) {
        return new SnapshotRecord(id, name, parent, Kind.COMMITTED, created, now, newLabels, usage.bytes(),
                usage.inodes());
    }
}
