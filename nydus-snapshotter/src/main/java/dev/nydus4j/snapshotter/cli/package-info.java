/**
 * Command lines of the snapshotter: {@link dev.nydus4j.snapshotter.cli.ContainerdNydusGrpc}
 * ({@code containerd-nydus-grpc}) and {@link dev.nydus4j.snapshotter.cli.NydusOverlayfs} ({@code nydus-overlayfs}),
 * each with a static {@code execute(String[], PrintWriter, PrintWriter)} for the shared tool dispatcher.
 */
package dev.nydus4j.snapshotter.cli;
