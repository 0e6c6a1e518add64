package dev.nydus4j.snapshotter.e2e;

import dev.nydus4j.snapshotter.proto.cri.ContainerConfig;
import dev.nydus4j.snapshotter.proto.cri.ContainerMetadata;
import dev.nydus4j.snapshotter.proto.cri.ContainerState;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatus;
import dev.nydus4j.snapshotter.proto.cri.ContainerStatusRequest;
import dev.nydus4j.snapshotter.proto.cri.CreateContainerRequest;
import dev.nydus4j.snapshotter.proto.cri.ImageServiceGrpc;
import dev.nydus4j.snapshotter.proto.cri.ImageSpec;
import dev.nydus4j.snapshotter.proto.cri.LinuxPodSandboxConfig;
import dev.nydus4j.snapshotter.proto.cri.LinuxSandboxSecurityContext;
import dev.nydus4j.snapshotter.proto.cri.NamespaceMode;
import dev.nydus4j.snapshotter.proto.cri.NamespaceOption;
import dev.nydus4j.snapshotter.proto.cri.PodSandboxConfig;
import dev.nydus4j.snapshotter.proto.cri.PodSandboxMetadata;
import dev.nydus4j.snapshotter.proto.cri.PullImageRequest;
import dev.nydus4j.snapshotter.proto.cri.RemoveImageRequest;
import dev.nydus4j.snapshotter.proto.cri.RemoveContainerRequest;
import dev.nydus4j.snapshotter.proto.cri.RemovePodSandboxRequest;
import dev.nydus4j.snapshotter.proto.cri.RunPodSandboxRequest;
import dev.nydus4j.snapshotter.proto.cri.RuntimeServiceGrpc;
import dev.nydus4j.snapshotter.proto.cri.StartContainerRequest;
import dev.nydus4j.snapshotter.proto.cri.StatusRequest;
import dev.nydus4j.snapshotter.proto.cri.StopPodSandboxRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A small CRI client (runtime.v1 RuntimeService and ImageService) over containerd's socket, standing in for crictl:
 * pull, run a host-network pod (no hostname: runc refuses one without a private UTS namespace), run a container to
 * completion and read its log (SNAPSHOTTER.md 11.2 step 7). Not thread-safe.
 */
final class CriClient implements AutoCloseable {
    private final EventLoopGroup group = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;
    private final RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime;
    private final ImageServiceGrpc.ImageServiceBlockingStub images;

    CriClient(Path socket) {
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext()
                .maxInboundMessageSize(16 << 20).build();
        runtime = RuntimeServiceGrpc.newBlockingStub(channel);
        images = ImageServiceGrpc.newBlockingStub(channel);
    }

    /** A pod sandbox and the config it was created with (CreateContainer needs it again). */
    record Pod(String id, PodSandboxConfig config, Path logDir) {
    }

    String pull(String image) {
        return pull(image, Map.of());
    }

    /** Pulls for a pod with {@code podAnnotations} (e.g. the runtime handler that selects a snapshotter). */
    String pull(String image, Map<String, String> podAnnotations) {
        return images.withDeadlineAfter(5, TimeUnit.MINUTES)
                .pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image))
                        .setSandboxConfig(PodSandboxConfig.newBuilder().putAllAnnotations(podAnnotations)).build())
                .getImageRef();
    }

    void removeImage(String image) {
        images.withDeadlineAfter(1, TimeUnit.MINUTES)
                .removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(image)).build());
    }

    /** Runs a host-network pod; {@code runtimeHandler} selects a CRI runtime ("" = default). */
    Pod runPod(String name, Path logDir, String runtimeHandler, Map<String, String> annotations) throws IOException {
        Files.createDirectories(logDir);
        PodSandboxConfig cfg = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setUid(name + "-uid").setNamespace("e2e"))
                .setLogDirectory(logDir.toString())
                .putAllAnnotations(annotations)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                        .setNamespaceOptions(NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
                                .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD))))
                .build();
        String id = runtime.withDeadlineAfter(5, TimeUnit.MINUTES).runPodSandbox(RunPodSandboxRequest.newBuilder()
                .setConfig(cfg).setRuntimeHandler(runtimeHandler).build()).getPodSandboxId();
        return new Pod(id, cfg, logDir);
    }

    /** Creates and starts a container running {@code command}; returns its id. */
    String startContainer(Pod pod, String name, String image, List<String> command) {
        String id = runtime.withDeadlineAfter(5, TimeUnit.MINUTES).createContainer(CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod.id())
                .setSandboxConfig(pod.config())
                .setConfig(ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName(name))
                        .setImage(ImageSpec.newBuilder().setImage(image))
                        .addAllCommand(command)
                        .setLogPath(name + ".log"))
                .build()).getContainerId();
        runtime.withDeadlineAfter(2, TimeUnit.MINUTES)
                .startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
        return id;
    }

    void removeContainer(String containerId) {
        runtime.withDeadlineAfter(1, TimeUnit.MINUTES).removeContainer(RemoveContainerRequest.newBuilder()
                .setContainerId(containerId).build());
    }

    ContainerStatus status(String containerId) {
        return runtime.withDeadlineAfter(1, TimeUnit.MINUTES).containerStatus(ContainerStatusRequest.newBuilder()
                .setContainerId(containerId).build()).getStatus();
    }

    /** ContainerStatus(verbose) {@code info["info"]}: containerd's JSON about the container (snapshotter, key...). */
    String verboseInfo(String containerId) {
        return runtime.withDeadlineAfter(1, TimeUnit.MINUTES).containerStatus(ContainerStatusRequest.newBuilder()
                .setContainerId(containerId).setVerbose(true).build()).getInfoOrDefault("info", "");
    }

    /** Status(verbose) {@code info["config"]}: the CRI plugin's effective configuration as JSON. */
    String effectiveConfig() {
        return runtime.withDeadlineAfter(1, TimeUnit.MINUTES).status(StatusRequest.newBuilder().setVerbose(true)
                .build()).getInfoOrDefault("config", "");
    }

    /** Waits for the container to exit and returns its status. */
    ContainerStatus awaitExit(String containerId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ContainerStatus s = status(containerId);
            if (s.getState() == ContainerState.CONTAINER_EXITED || System.nanoTime() > deadline) {
                return s;
            }
            Thread.sleep(100);
        }
    }

    /** The container's output from its CRI log file (each line is {@code <time> <stream> <tag> <text>}). */
    static String logText(Pod pod, String name) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String line : Files.readAllLines(pod.logDir().resolve(name + ".log"))) {
            String[] f = line.split(" ", 4);
            b.append(f.length == 4 ? f[3] : "").append('\n');
        }
        return b.toString();
    }

    void removePod(Pod pod) {
        runtime.withDeadlineAfter(2, TimeUnit.MINUTES)
                .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
        runtime.withDeadlineAfter(2, TimeUnit.MINUTES)
                .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
