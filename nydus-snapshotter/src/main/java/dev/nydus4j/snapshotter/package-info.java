/**
 * containerd-nydus-grpc: a containerd remote ("proxy") snapshotter.
 *
 * <p>Entry points: {@link dev.nydus4j.snapshotter.SnapshotterServer} (serves
 * {@code containerd.services.snapshots.v1.Snapshots} over gRPC on a Unix socket) and the command lines in
 * {@code dev.nydus4j.snapshotter.cli}. Plain OCI layers get the same mounts as containerd's overlayfs snapshotter;
 * Nydus images get their data blob layers skipped (committed at once, answered ALREADY_EXISTS) and the container's
 * rootfs served by a nydusd FUSE mount under an overlay. See {@code spec/SNAPSHOTTER.md}.
 */
package dev.nydus4j.snapshotter;
