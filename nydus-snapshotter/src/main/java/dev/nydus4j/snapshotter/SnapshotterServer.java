package dev.nydus4j.snapshotter;

import dev.nydus4j.snapshotter.proto.snapshots.SnapshotsGrpc;
import dev.nydus4j.snapshotter.proto.snapshots.StatSnapshotRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * containerd-nydus-grpc's server: the snapshot service over plain gRPC (HTTP/2, no TLS) on a Unix socket through
 * Netty's epoll domain-socket transport (SNAPSHOTTER.md 11.4). {@link #start} removes a stale socket and creates
 * its directory with mode 0700 as upstream does. Owns the snapshotter, its daemons' watcher and the event loops;
 * {@link #close()} stops them (daemons keep running unless {@code cleanup_on_close}). Thread-safe.
 */
public final class SnapshotterServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotterServer.class);
    private static final int HANDLER_THREADS = 16;
    private static final int HANDLER_QUEUE = 1024;

    private final Server server;
    private final Snapshotter snapshotter;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ExecutorService handlers;
    private final Path socket;
    private final NydusdManager daemons;
    private final boolean cleanupOnClose;
    private boolean closed;

    private SnapshotterServer(Server server, Snapshotter snapshotter, EventLoopGroup boss, EventLoopGroup workers,
                              ExecutorService handlers, Path socket, NydusdManager daemons, boolean cleanupOnClose) {
        this.server = server;
        this.snapshotter = snapshotter;
        this.boss = boss;
        this.workers = workers;
        this.handlers = handlers;
        this.socket = socket;
        this.daemons = daemons;
        this.cleanupOnClose = cleanupOnClose;
    }

    /** Opens the store under {@code config.root()}, recovers daemons, and starts serving on the socket. */
    public static SnapshotterServer start(SnapshotterConfig config) throws IOException {
        Layout layout = new Layout(config.root()).create();
        MetaStore store = MetaStore.open(layout.metadata(), Clock.systemUTC());
        NydusdManager daemons = config.nydusdConfig() == null ? null : NydusdManager.open(layout, config);
        Snapshotter snapshotter = new Snapshotter(layout, store, daemons, config.volatileUpper());
        Path socket = config.address().toAbsolutePath();
        EventLoopGroup boss = new EpollEventLoopGroup(1);
        EventLoopGroup workers = new EpollEventLoopGroup(2);
        ExecutorService handlers = handlerPool();
        try {
            Files.createDirectories(socket.getParent());
            Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwx------"));
            Files.deleteIfExists(socket);
            // bound under a temporary name and renamed once warm: the socket appears only when it answers fast
            Path starting = socket.resolveSibling("." + socket.getFileName() + ".starting");
            Files.deleteIfExists(starting);
            Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(starting.toString()))
                    .channelType(EpollServerDomainSocketChannel.class)
                    .bossEventLoopGroup(boss)
                    .workerEventLoopGroup(workers)
                    .executor(handlers)
                    // containerd accepts up to 16 MiB each way
                    .maxInboundMessageSize(16 << 20)
                    .addService(new SnapshotsService(snapshotter))
                    .build()
                    .start();
            warmUp(starting);
            Files.move(starting, socket, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            LOG.info("containerd-nydus-grpc serving on {} (root {}, nydus images {})", socket, layout.root(),
                    daemons == null ? "off: no --nydusd-config" : config.daemonMode().name().toLowerCase());
            return new SnapshotterServer(server, snapshotter, boss, workers, handlers, socket, daemons,
                    config.cleanupOnClose());
        } catch (IOException | RuntimeException e) {
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            handlers.shutdownNow();
            snapshotter.close();
            throw e;
        }
    }

    /**
     * One call to ourselves before containerd dials: containerd 1.6 gives its first connection attempt only the
     * initial back-off (about 1 s) to finish the HTTP/2 handshake, which a cold JVM on a busy machine can miss
     * ("timed out waiting for server handshake"), failing the first pull. Loading the transport's classes here
     * avoids that; the call goes to the temporary name, before containerd can see the socket.
     */
    private static void warmUp(Path socket) {
        EventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel ch = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        try {
            SnapshotsGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .stat(StatSnapshotRequest.newBuilder().setKey("nydus4j-warm-up").build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                LOG.warn("self-test call on {} failed: {}", socket, e.getStatus());
            }
        } finally {
            ch.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * RPC handlers run here, not on the event loops: a Prepare may wait seconds for a nydusd. Bounded: containerd
     * unpacks at most a few layers at once ({@code max_concurrent_downloads} = 3) plus the CRI syncer's Stat/Usage.
     */
    private static ExecutorService handlerPool() {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(HANDLER_QUEUE), r -> {
                    Thread t = new Thread(r, "snapshots-rpc-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    public Path socket() {
        return socket;
    }

    /** Blocks until the server terminates. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        handlers.shutdown();
        try {
            if (cleanupOnClose && daemons != null) {
                daemons.stopAll();
            }
        } finally {
            snapshotter.close();
            Files.deleteIfExists(socket);
            LOG.info("containerd-nydus-grpc stopped");
        }
    }
}
