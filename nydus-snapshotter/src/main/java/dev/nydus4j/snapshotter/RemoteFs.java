package dev.nydus4j.snapshotter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Serves Nydus images for the snapshotter: one RAFS instance per bootstrap snapshot, each reachable at a
 * mountpoint. {@link NydusdManager} is the implementation; the interface keeps {@link Snapshotter} free of daemon
 * details. Implementations are thread-safe.
 */
interface RemoteFs extends AutoCloseable {
    /**
     * Makes sure the image of bootstrap snapshot {@code layer} is mounted by a running daemon and returns its
     * mountpoint.
     */
    Path mount(SnapshotRecord layer) throws IOException;

    /** Unmounts the instance of bootstrap snapshot {@code snapshotId}, if any, stopping a daemon left unused. */
    void umount(long snapshotId) throws IOException;

    /** Ids of the bootstrap snapshots that have an instance. */
    Set<Long> instances();

    /** Stops watching daemons; running daemons stay up for the next snapshotter (recovery). */
    @Override
    void close() throws IOException;
}
