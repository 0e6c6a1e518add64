package dev.nydus4j.convert.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.convert.CheckOptions;
import dev.nydus4j.convert.Checker;
import dev.nydus4j.convert.ExternalBlobBackend;
import dev.nydus4j.convert.ImageLocation;
import dev.nydus4j.convert.Platform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code nydusify check} (API spec 5.2). Exit code 1 when any problem is found. */
@Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Check a Nydus image: manifest rules, bootstrap and every chunk, and files equal to the source.")
final class CheckCommand implements Callable<Integer> {
    @ParentCommand
    NydusifyCommand parent;

    @Option(names = "--target", required = true, paramLabel = "REF", description = "Nydus image to check.")
    String target;

    @Option(names = "--source", paramLabel = "REF", description = "Source image to compare with.")
    String source;

    @Option(names = "--source-insecure", description = "Skip TLS verification of the source registry.")
    boolean sourceInsecure;

    @Option(names = "--target-insecure", description = "Skip TLS verification of the target registry.")
    boolean targetInsecure;

    @Option(names = "--plain-http", description = "Talk plain http to registries.")
    boolean plainHttp;

    @Option(names = "--multi-platform", description = "Expect an index with both the OCI and the nydus manifest.")
    boolean multiPlatform;

    @Option(names = "--platform", paramLabel = "PLATFORM", description = "Platform to check. Default: linux/<host arch>.")
    String platform;

    @Option(names = "--work-dir", defaultValue = "./output", paramLabel = "DIR",
            description = "Receives manifests, configs, bootstrap and blobs. Default: ${DEFAULT-VALUE}.")
    Path workDir;

    @Option(names = "--nydus-image", paramLabel = "PATH", description = "Accepted for compatibility (checked in-process).")
    String nydusImage;

    @Option(names = "--nydusd", paramLabel = "PATH", description = "Mount the image with this nydusd and compare the mount.")
    Path nydusd;

    @Option(names = "--mount", description = "Mount the image with the in-process nydusd (FUSE) and compare the mount.")
    boolean mount;

    @Option(names = {"--backend-type", "--target-backend-type"}, paramLabel = "TYPE",
            description = "Blobs kept in a backend: localfs, oss or s3 (converted with --backend-type); registry"
                    + " (the default) reads them from the image's registry.")
    String backendType;

    @Option(names = {"--backend-config", "--target-backend-config"}, paramLabel = "JSON",
            description = "Backend config JSON, the one given to convert.")
    String backendConfig;

    @Option(names = {"--backend-config-file", "--target-backend-config-file"}, paramLabel = "FILE",
            description = "Backend config JSON file.")
    Path backendConfigFile;

    /**
     * The blob backend named by {@code --backend-type}, or null for the image's own registry: no type, or
     * {@code registry} (upstream's default, which users also spell out) without a config.
     */
    static ExternalBlobBackend externalBackend(String type, String config, Path configFile) throws IOException {
        if (type == null) {
            return null;
        }
        if (type.equalsIgnoreCase("registry")) {
            if (config != null || configFile != null) {
                throw new IllegalArgumentException("--backend-type registry with --backend-config is not supported:"
                        + " leave the config out to read the blobs from the image's own registry");
            }
            return null;
        }
        String json = configFile != null ? Files.readString(configFile) : config;
        return ExternalBlobBackend.of(type, json);
    }

    @Override
    public Integer call() throws IOException {
        Path blobDir = null;
        ExternalBlobBackend backend = externalBackend(backendType, backendConfig, backendConfigFile);
        if (backend != null) {
            if (backend instanceof ExternalBlobBackend.LocalfsBlobBackend localfs) {
                blobDir = localfs.dir();
                backend = null;
            }
        }
        CheckOptions options = new CheckOptions(source == null ? null : ImageLocation.parse(source),
                ImageLocation.parse(target), sourceInsecure, targetInsecure, plainHttp,
                platform == null ? Platform.host() : Platform.parse(platform), multiPlatform, workDir, nydusd, mount,
                blobDir, backend);
        List<String> problems = new Checker(options, parent.out).check();
        return problems.isEmpty() ? 0 : 1;
    }
}
