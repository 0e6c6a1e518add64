package dev.nydus4j.convert.cli;

import dev.nydus4j.convert.ExternalBlobBackend;
import dev.nydus4j.convert.ImageLocation;
import dev.nydus4j.convert.Mounter;
import dev.nydus4j.convert.Platform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code nydusify mount} / {@code view} (API spec 5.3): mounts a nydus image until interrupted. */
@Command(name = "mount", aliases = "view", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Mount a Nydus image (blobs fetched lazily) until interrupted.")
final class MountCommand implements Callable<Integer> {
    @ParentCommand
    NydusifyCommand parent;

    @Option(names = "--target", required = true, paramLabel = "REF", description = "Nydus image to mount.")
    String target;

    @Option(names = "--target-insecure", description = "Skip TLS verification of the registry (and allow http).")
    boolean targetInsecure;

    @Option(names = "--plain-http", description = "Talk plain http to the registry.")
    boolean plainHttp;

    @Option(names = "--mount-path", defaultValue = "./image-fs", paramLabel = "DIR",
            description = "Mountpoint. Default: ${DEFAULT-VALUE}.")
    Path mountPath;

    @Option(names = "--work-dir", defaultValue = "./tmp", paramLabel = "DIR",
            description = "Bootstrap, config and blob cache. Default: ${DEFAULT-VALUE}.")
    Path workDir;

    @Option(names = "--platform", paramLabel = "PLATFORM", description = "Platform. Default: linux/<host arch>.")
    String platform;

    @Option(names = "--prefetch", description = "Accepted; prefetch is not enabled by this build.")
    boolean prefetch;

    @Option(names = "--nydusd", paramLabel = "PATH", description = "nydusd binary (default: in-process daemon).")
    Path nydusd;

    @Option(names = "--backend-type", paramLabel = "TYPE",
            description = "registry (the default: the image's own registry), or localfs, oss or s3 for blobs kept"
                    + " outside the registry.")
    String backendType;

    @Option(names = "--backend-config", paramLabel = "JSON", description = "Backend config JSON, the one given to convert.")
    String backendConfig;

    @Option(names = "--backend-config-file", paramLabel = "FILE", description = "Backend config JSON file.")
    Path backendConfigFile;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ExternalBlobBackend backend = CheckCommand.externalBackend(backendType, backendConfig, backendConfigFile);
        CountDownLatch stopped = new CountDownLatch(1);
        Mounter m = Mounter.mount(ImageLocation.parse(target), targetInsecure, plainHttp,
                platform == null ? Platform.host() : Platform.parse(platform), backend, nydusd, mountPath, workDir);
        // the JVM exits right after its shutdown hooks: unmount inside the hook, not after the wait
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                m.close();
            } catch (IOException e) {
                parent.err.println("ERROR: unmounting " + m.mountpoint() + ": " + e.getMessage());
                parent.err.flush();
            } finally {
                stopped.countDown();
            }
        }, "nydusify-unmount"));
        parent.out.println("mounted " + target + " at " + m.mountpoint() + "; interrupt (Ctrl-C) to unmount");
        parent.out.flush();
        stopped.await();
        return 0;
    }
}
