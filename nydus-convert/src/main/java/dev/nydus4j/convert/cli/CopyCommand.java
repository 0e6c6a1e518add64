package dev.nydus4j.convert.cli;

import dev.nydus4j.convert.Copier;
import dev.nydus4j.convert.ImageLocation;
import dev.nydus4j.convert.Platform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code nydusify copy}: copy an image (nydus or OCI) between registries / layouts with upstream's main flags. */
@Command(name = "copy", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Copy an image (a nydus image with its blobs and bootstrap layer, or any OCI/Docker image)"
                + " from one registry or layout to another; digests are kept.")
final class CopyCommand implements Callable<Integer> {
    @ParentCommand
    NydusifyCommand parent;

    @Option(names = "--source", required = true, paramLabel = "REF", description = "Image to copy.")
    String source;

    @Option(names = "--target", required = true, paramLabel = "REF", description = "Where to copy it.")
    String target;

    @Option(names = "--source-insecure", defaultValue = "${env:SOURCE_INSECURE:-false}",
            description = "Skip TLS verification of the source registry.")
    boolean sourceInsecure;

    @Option(names = "--target-insecure", defaultValue = "${env:TARGET_INSECURE:-false}",
            description = "Skip TLS verification of the target registry.")
    boolean targetInsecure;

    @Option(names = "--plain-http", description = "Talk plain http to registries.")
    boolean plainHttp;

    @Option(names = "--platform", defaultValue = "${env:PLATFORM}", paramLabel = "LIST",
            description = "Platforms to copy from an index, e.g. linux/amd64,linux/arm64. Default: linux/<host arch>.")
    String platform;

    @Option(names = "--all-platforms", defaultValue = "${env:ALL_PLATFORMS:-false}",
            description = "Copy every platform of an index.")
    boolean allPlatforms;

    @Option(names = "--work-dir", defaultValue = "${env:WORK_DIR:-./tmp}", paramLabel = "DIR",
            description = "Temporary files. Default: ${DEFAULT-VALUE}.")
    Path workDir;

    @Option(names = "--nydus-image", defaultValue = "${env:NYDUS_IMAGE}", paramLabel = "PATH",
            description = "Accepted for compatibility (not needed to copy).")
    String nydusImage;

    @Option(names = "--push-chunk-size", defaultValue = "${env:PUSH_CHUNK_SIZE:-0}", paramLabel = "SIZE",
            description = "Accepted for compatibility: blobs are pushed monolithically.")
    String pushChunkSize;

    @Option(names = "--source-backend-type", paramLabel = "TYPE",
            description = "Not supported: nydus blobs kept in a storage backend are not copied.")
    String sourceBackendType;

    @Option(names = {"--source-backend-config", "--source-backend-config-file", "--target-backend-type",
            "--target-backend-config", "--target-backend-config-file"}, paramLabel = "VALUE",
            description = "Not supported (see --source-backend-type).")
    String otherBackend;

    @Mixin
    PushRetryOptions pushRetry;

    @Override
    public Integer call() throws IOException {
        if (sourceBackendType != null || otherBackend != null) {
            throw new IllegalArgumentException("nydusify copy: storage backends (--source-backend-*,"
                    + " --target-backend-*) are not supported by nydus4j; copy images whose blobs are in the registry");
        }
        Copier.Options o = new Copier.Options(ImageLocation.parse(source), ImageLocation.parse(target),
                sourceInsecure, targetInsecure, plainHttp, allPlatforms,
                platform == null || platform.isBlank() ? java.util.List.of(Platform.host())
                        : Platform.parseList(platform), workDir, pushRetry.count(),
                pushRetry.delay());
        new Copier(o, parent.out).copy();
        return 0;
    }
}
