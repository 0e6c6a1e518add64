package dev.nydus4j.fuse;

import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.nio.file.Path;

/** A daemon in a separate JVM for tests that kill it: {@code DaemonChild <bootstrap> <blob dir> <mountpoint>}. */
public final class DaemonChild {
    private DaemonChild() {
    }

    public static void main(String[] args) throws Exception {
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + args[1] + "\"}}},"
                + "\"mode\":\"direct\"}";
        NydusDaemon d = NydusDaemon.start(NydusdConfigParser.parse(cfg, "child"), Path.of(args[0]), Path.of(args[2]),
                BackendRegistry.discover());
        d.await();
    }
}
