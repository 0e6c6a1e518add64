package dev.nydus4j.snapshotter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Where everything lives under the snapshotter root (SNAPSHOTTER.md 5): {@code snapshots/<id>/{fs,work,mnt}},
 * {@code mnt/} (shared daemon), {@code socket/<daemon>/api.sock}, {@code config/<daemon>/config.json},
 * {@code logs/<daemon>/nydusd.log}, {@code cache/} and the two state files. Immutable.
 */
record Layout(Path root) {
    Layout {
        root = root.toAbsolutePath().normalize();
    }

    /** Creates the directories (mode 0700 like upstream's root). */
    Layout create() throws IOException {
        for (Path p : new Path[]{root, snapshots(), sharedMountpoint(), root.resolve("socket"), root.resolve("config"),
                root.resolve("logs"), cache()}) {
            Files.createDirectories(p);
        }
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
        return this;
    }

    Path metadata() {
        return root.resolve("metadata.json");
    }

    Path daemonState() {
        return root.resolve("nydus.json");
    }

    Path snapshots() {
        return root.resolve("snapshots");
    }

    Path snapshotDir(long id) {
        return snapshots().resolve(Long.toString(id));
    }

    Path fs(long id) {
        return snapshotDir(id).resolve("fs");
    }

    Path work(long id) {
        return snapshotDir(id).resolve("work");
    }

    /** The RAFS mountpoint of a dedicated daemon for bootstrap snapshot {@code id}. */
    Path dedicatedMountpoint(long id) {
        return snapshotDir(id).resolve("mnt");
    }

    Path sharedMountpoint() {
        return root.resolve("mnt");
    }

    /** The bootstrap that containerd unpacked from a Nydus image's last layer. */
    Path bootstrap(long id) {
        return fs(id).resolve("image").resolve("image.boot");
    }

    Path apiSocket(String daemonId) {
        return root.resolve("socket").resolve(daemonId).resolve("api.sock");
    }

    /** Where nydusd {@code daemonId} saves its FUSE session for failover ({@code --supervisor}), as upstream's. */
    Path supervisorSocket(String daemonId) {
        return root.resolve("supervisor").resolve(daemonId + ".sock");
    }

    Path daemonConfig(String daemonId) {
        return root.resolve("config").resolve(daemonId).resolve("config.json");
    }

    Path daemonLog(String daemonId) {
        return root.resolve("logs").resolve(daemonId).resolve("nydusd.log");
    }

    Path cache() {
        return root.resolve("cache");
    }
}
