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

    static InProcessMount start(Path bootstrap, Path blobs, Path workDir) throws IOException {
        Path mp = Files.createDirectories(workDir.resolve("mnt")).toAbsolutePath();
        String json = NydusdConfigJson.localfs(blobs, Files.createDirectories(workDir.resolve("cache")));
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
