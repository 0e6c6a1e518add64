package dev.nydus4j.fuse;

import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.nio.file.Path;

/**
 * A daemon in its own JVM for tests that kill it or unmount it from outside: args are bootstrap, localfs blob dir,
 * mountpoint and optionally the FUSE engine. Exits 0 when the mount ends.
 */
public final class DaemonChild {
    private DaemonChild() {
    }

    public static void main(String[] args) throws Exception {
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + args[1] + "\"}}},"
                + "\"mode\":\"direct\"}";
        FuseEngine engine = args.length > 3 ? FuseEngine.parse(args[3]) : FuseEngine.byDefault();
        NydusDaemon d = NydusDaemon.start(new NydusDaemon.StartupImage(NydusdConfigParser.parse(cfg, "child"),
                Path.of(args[0]), "/", null), Path.of(args[2]), BackendRegistry.discover(), null, null, engine,
                NydusDaemon.DEFAULT_THREADS);
        System.out.println("serving with the " + d.mount().engine() + " engine");
        d.await();
        d.close();
        System.out.println("mount ended");
    }
}
