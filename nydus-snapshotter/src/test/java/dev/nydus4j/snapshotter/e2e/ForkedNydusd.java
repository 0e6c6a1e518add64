package dev.nydus4j.snapshotter.e2e;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.fuse.ApiServer;
import dev.nydus4j.fuse.NydusDaemon;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@code nydusd fuse} command line over nydus-fuse's {@link NydusDaemon} and {@link ApiServer}, for the tests until
 * the project's {@code bin/nydusd} takes upstream's flags: {@code fuse [--config C --bootstrap B] --mountpoint M
 * --apisock S [--id ID] [--log-level L] [--log-file F] [--thread-num N] [--supervisor S] [--failover-policy P]
 * [--upgrade]}. Runs until SIGTERM or {@code PUT /api/v1/daemon/exit}, then unmounts (unless an exit follows a
 * sendfd). With {@code --upgrade} it mounts nothing and waits for the takeover.
 */
public final class ForkedNydusd {
    private ForkedNydusd() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new HashMap<>();
        int i = args.length > 0 && args[0].equals("fuse") ? 1 : 0;
        boolean upgrade = false;
        for (; i < args.length; i++) {
            if (args[i].equals("--upgrade")) {
                upgrade = true;
                continue;
            }
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            flags.put(args[i].substring(2), args[++i]);
        }
        NydusdConfig config = flags.containsKey("config")
                ? NydusdConfigParser.parseFile(Path.of(flags.get("config"))) : null;
        Path bootstrap = flags.containsKey("bootstrap") ? Path.of(flags.get("bootstrap")) : null;
        int threads = Integer.parseInt(flags.getOrDefault("thread-num", "4"));
        NydusDaemon daemon = upgrade
                ? NydusDaemon.upgrade(Path.of(flags.get("mountpoint")), BackendRegistry.discover(), flags.get("id"),
                        flags.get("supervisor"), threads, flags.getOrDefault("failover-policy", "resend"))
                : NydusDaemon.start(config == null ? null : new NydusDaemon.StartupImage(config, bootstrap, "/", null),
                        Path.of(flags.get("mountpoint")), BackendRegistry.discover(), flags.get("id"),
                        flags.get("supervisor"), dev.nydus4j.fuse.FuseEngine.byDefault(), threads);
        ApiServer[] apiRef = new ApiServer[1];
        ApiServer api = ApiServer.start(Path.of(flags.get("apisock")), daemon, Map.of("package_ver", "nydus4j-test"),
                () -> {
                    try {
                        apiRef[0].close();
                        daemon.close(); // after a sendfd this leaves the mount to the next daemon
                    } catch (Exception e) {
                        e.printStackTrace();
                    }
                    System.exit(0);
                });
        apiRef[0] = api;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                api.close();
                daemon.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        daemon.await();
    }
}
