package dev.nydus4j.fuse;

import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A kernel-engine daemon with its API socket in its own JVM, for tests that hand its FUSE session to a supervisor
 * and kill it: args are bootstrap, blob dir, mountpoint, API socket, supervisor socket, daemon id and optionally
 * the backend type (default localfs; {@link GatedBackendProvider}'s {@code gated-localfs} reads the same dir).
 * {@code PUT /api/v1/daemon/exit} ends it (leaving the mount after a sendfd, as nydusd does).
 */
public final class ApiDaemonChild {
    private ApiDaemonChild() {
    }

    public static void main(String[] args) throws Exception {
        String type = args.length > 6 ? args[6] : "localfs";
        String cfg = "{\"device\":{\"backend\":{\"type\":\"" + type + "\",\"config\":{\"dir\":\"" + args[1] + "\"}}},"
                + "\"mode\":\"direct\"}";
        NydusDaemon d = NydusDaemon.start(new NydusDaemon.StartupImage(NydusdConfigParser.parse(cfg, "child"),
                Path.of(args[0]), "/", null), Path.of(args[2]), BackendRegistry.discover(), args[5], args[4],
                FuseEngine.KERNEL, NydusDaemon.DEFAULT_THREADS);
        CountDownLatch exit = new CountDownLatch(1);
        ApiServer api = ApiServer.start(Path.of(args[3]), d, Map.of("package_ver", "test"), exit::countDown);
        System.out.println("serving with the " + d.mount().engine() + " engine");
        exit.await();
        api.close();
        d.close();
        System.out.println("exited");
    }
}
