package dev.nydus4j.convert;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.fuse.NydusDaemon;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The in-process nydusd ({@link NydusDaemon}) serving the checked image over FUSE; closing unmounts it. */
final class InProcessMount implements AutoCloseable {
    private final NydusDaemon daemon;
    private final Path mountpoint;

    private InProcessMount(NydusDaemon daemon, Path mountpoint) {
        this.daemon = daemon;
        this.mountpoint = mountpoint;
    }

    /**
     * @param configJson a v1 nydusd config ({@link NydusdConfigJson})
     * @param mountpoint an existing empty directory
     */
    static InProcessMount start(Path bootstrap, String configJson, Path mountpoint) throws IOException {
        Path mp = mountpoint.toAbsolutePath();
        String json = configJson;
        NydusdConfig config = NydusdConfigParser.parse(json, "nydusify check");
        NydusDaemon d = NydusDaemon.start(config, bootstrap, mp, BackendRegistry.discover());
        return new InProcessMount(d, mp);
    }

    Path mountpoint() {
        return mountpoint;
    }

    @Override
    public void close() throws IOException {
        try {
            daemon.close();
        } finally {
            Mounts.unmount(mountpoint);
        }
    }
}
