package dev.nydus4j.convert.cli;

import dev.nydus4j.convert.ConvertOptions;
import dev.nydus4j.convert.Converter;
import dev.nydus4j.convert.ExternalBlobBackend;
import dev.nydus4j.convert.ImageLocation;
import dev.nydus4j.convert.Platform;
import dev.nydus4j.storage.CompressionAlgorithm;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code nydusify convert} (API spec 5.1). */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Convert an OCI/Docker image (registry, oci:DIR[:tag], oci-archive:FILE[:tag] or"
                + " docker-archive:FILE) into a Nydus image.")
final class ConvertCommand implements Callable<Integer> {
    @ParentCommand
    NydusifyCommand parent;

    @Option(names = "--source", required = true, defaultValue = "${env:SOURCE}", paramLabel = "REF",
            description = "Source image: registry reference, oci:DIR[:tag] or docker-archive:FILE.")
    String source;

    @Option(names = "--target", defaultValue = "${env:TARGET}", paramLabel = "REF",
            description = "Target image: registry reference or oci:DIR[:tag].")
    String target;

    @Option(names = "--target-suffix", defaultValue = "${env:TARGET_SUFFIX}", paramLabel = "SUFFIX",
            description = "Target = source with this suffix appended to its tag.")
    String targetSuffix;

    @Option(names = "--source-archive", defaultValue = "${env:SOURCE_ARCHIVE}", paramLabel = "FILE",
            description = "Read the source from this OCI layout tar; --source names the image in it (tag or"
                    + " reference; any name when it holds one image).")
    Path sourceArchive;

    @Option(names = "--target-archive", defaultValue = "${env:TARGET_ARCHIVE}", paramLabel = "FILE",
            description = "Write the result as an OCI layout tar (its directory must exist) instead of pushing it;"
                    + " the image is named by the tag of --target (latest without).")
    Path targetArchive;

    @Option(names = "--source-insecure", defaultValue = "${env:SOURCE_INSECURE:-false}",
            description = "Skip TLS verification of the source registry (and allow http).")
    boolean sourceInsecure;

    @Option(names = "--target-insecure", defaultValue = "${env:TARGET_INSECURE:-false}",
            description = "Skip TLS verification of the target registry (and allow http).")
    boolean targetInsecure;

    @Option(names = "--plain-http", defaultValue = "${env:PLAIN_HTTP:-false}", description = "Talk plain http to registries.")
    boolean plainHttp;

    @Option(names = "--work-dir", defaultValue = "${env:WORK_DIR:-./tmp}", paramLabel = "DIR",
            description = "Work directory (created and removed again when missing). Default: ${DEFAULT-VALUE}.")
    Path workDir;

    @Option(names = "--platform", paramLabel = "LIST",
            description = "Platforms to convert from an index, e.g. linux/amd64,linux/arm64. Default: linux/<host arch>.")
    String platform;

    @Option(names = "--all-platforms", description = "Convert every platform of an index.")
    boolean allPlatforms;

    @Option(names = {"--merge-platform", "--multi-platform"}, defaultValue = "${env:MERGE_PLATFORM:-false}",
            description = "Publish an index with both the OCI and the nydus manifests.")
    boolean mergePlatform;

    @Option(names = "--oci", defaultValue = "${env:OCI:-false}", description = "Use OCI media types.")
    boolean oci;

    @Option(names = "--with-referrer", defaultValue = "${env:WITH_REFERRER:-false}",
            description = "Set the subject of the nydus manifest to the source manifest (OCI Referrers API; implies"
                    + " OCI media types).")
    boolean withReferrer;

    @Option(names = "--oci-ref", defaultValue = "${env:OCI_REF:-false}",
            description = "Zran mode (nydus metadata referencing the original tar.gz layers): not supported by"
                    + " nydus4j's builder; rejected.")
    boolean ociRef;

    @Option(names = "--docker-v2-format", hidden = true, description = "Deprecated, no effect.")
    boolean dockerV2Format;

    @Option(names = "--build-cache", defaultValue = "${env:BUILD_CACHE}", paramLabel = "REF",
            description = "Build cache image: not supported by nydus4j; accepted, every layer is converted (the"
                    + " result is the same, a cache would only skip work).")
    String buildCache;

    @Option(names = "--build-cache-tag", defaultValue = "${env:BUILD_CACHE_TAG}", paramLabel = "TAG",
            description = "Build cache tag in the target repository: not supported (see --build-cache).")
    String buildCacheTag;

    @Option(names = "--build-cache-version", defaultValue = "${env:BUILD_CACHE_VERSION:-v1}", paramLabel = "V",
            hidden = true)
    String buildCacheVersion;

    @Option(names = "--build-cache-insecure", defaultValue = "${env:BUILD_CACHE_INSECURE:-false}", hidden = true)
    boolean buildCacheInsecure;

    @Option(names = "--build-cache-max-records", defaultValue = "${env:BUILD_CACHE_MAX_RECORDS:-200}",
            paramLabel = "N", hidden = true)
    int buildCacheMaxRecords;

    @Option(names = "--reverse", defaultValue = "${env:REVERSE:-false}",
            description = "Nydus -> OCI conversion (experimental upstream): not supported by nydus4j; rejected.")
    boolean reverse;

    @Option(names = {"--source-backend-type", "--source-backend-config", "--source-backend-config-file"},
            paramLabel = "VALUE", hidden = true,
            description = "Model artifact sources (modelfile, model-artifact): not supported by nydus4j; rejected.")
    String sourceBackend;

    @Option(names = "--fs-version", defaultValue = "${env:FS_VERSION:-6}", paramLabel = "VERSION",
            description = "RAFS version of the bootstraps: 5 or 6. Default: ${DEFAULT-VALUE}.")
    int fsVersion;

    @Option(names = "--compressor", defaultValue = "${env:COMPRESSOR:-zstd}", paramLabel = "ALGO",
            description = "none, lz4_block, zstd. Default: ${DEFAULT-VALUE}.")
    String compressor;

    @Option(names = {"--fs-chunk-size", "--chunk-size"}, defaultValue = "${env:FS_CHUNK_SIZE:-0x100000}",
            paramLabel = "SIZE", description = "Chunk size, power of two in [0x1000, 0x1000000]. Default: ${DEFAULT-VALUE}.")
    String chunkSize;

    @Option(names = "--batch-size", defaultValue = "${env:BATCH_SIZE:-0}", paramLabel = "SIZE",
            description = "Only 0 (no batching) is supported.")
    String batchSize;

    @Option(names = {"--fs-align-chunk", "--backend-aligned-chunk"}, description = "Always on for RAFS v6.")
    boolean alignChunk;

    @Option(names = "--chunk-dict", defaultValue = "${env:CHUNK_DICT}", paramLabel = "DICT",
            description = "bootstrap:local:<path> or bootstrap:registry:<image ref>.")
    String chunkDict;

    @Option(names = "--chunk-dict-insecure", defaultValue = "${env:CHUNK_DICT_INSECURE:-false}",
            description = "Skip TLS verification for the chunk dict image (the target's setting also applies).")
    boolean chunkDictInsecure;

    @Option(names = "--prefetch-patterns", defaultValue = "${env:PREFETCH_PATTERNS:-false}",
            description = "Read absolute paths to prefetch from stdin.")
    boolean prefetchPatterns;

    @Option(names = "--prefetch-dir", defaultValue = "${env:PREFETCH_DIR}", paramLabel = "DIR",
            description = "One absolute directory to prefetch.")
    String prefetchDir;

    @Option(names = "--backend-type", defaultValue = "${env:BACKEND_TYPE}", paramLabel = "TYPE",
            description = "Push blobs to localfs, oss or s3 instead of the registry (the manifest then holds only the"
                    + " bootstrap layer).")
    String backendType;

    @Option(names = "--backend-config", defaultValue = "${env:BACKEND_CONFIG}", paramLabel = "JSON",
            description = "Backend config JSON as nydusd takes it, e.g. {\"dir\":\"/blobs\"} for localfs or"
                    + " {\"endpoint\":..,\"bucket_name\":..,\"access_key_id\":..} for oss/s3.")
    String backendConfig;

    @Option(names = "--backend-config-file", defaultValue = "${env:BACKEND_CONFIG_FILE}", paramLabel = "FILE",
            description = "Backend config JSON file.")
    Path backendConfigFile;

    @Option(names = "--backend-force-push", defaultValue = "${env:BACKEND_FORCE_PUSH:-false}",
            description = "Upload blobs even when the backend already has them.")
    boolean backendForcePush;

    @Option(names = "--output-json", defaultValue = "${env:OUTPUT_JSON}", paramLabel = "FILE",
            description = "Write conversion metrics as JSON.")
    Path outputJson;

    @Mixin
    PushRetryOptions pushRetry;

    @Option(names = "--nydus-image", defaultValue = "${env:NYDUS_IMAGE}", paramLabel = "PATH",
            description = "Accepted for compatibility: images are built in-process.")
    String nydusImage;

    @Option(names = "--parallelism", paramLabel = "N", description = "Layers converted at once (default: cores, at most 4).")
    Integer parallelism;

    @Override
    public Integer call() throws IOException {
        validate();
        ImageLocation src = sourceArchive != null ? ImageLocation.archive(sourceArchive, source, false)
                : ImageLocation.parse(source);
        ImageLocation dst;
        if (targetArchive != null) {
            String name = target != null ? target
                    : targetSuffix != null ? ImageLocation.parse(source).withTagSuffix(targetSuffix).text() : null;
            dst = ImageLocation.archive(targetArchive, name, true);
        } else {
            dst = target != null ? ImageLocation.parse(target) : src.withTagSuffix(targetSuffix);
        }
        List<String> prefetch = new ArrayList<>();
        if (prefetchPatterns) {
            BufferedReader r = new BufferedReader(new InputStreamReader(parent.stdin, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.isBlank()) {
                    prefetch.add(line.trim());
                }
            }
        } else if (prefetchDir != null) {
            prefetch.add(prefetchDir);
        }
        ConvertOptions defaults = ConvertOptions.defaults();
        ConvertOptions options = defaults
                .withPlatforms(platform == null ? defaults.platforms() : Platform.parseList(platform), allPlatforms)
                .withLayout(mergePlatform, oci)
                .withReferrer(withReferrer)
                .withBuild(CompressionAlgorithm.fromName(compressor), chunkSize(chunkSize), chunkDict, prefetch)
                .withBackend(backend())
                .withRun(workDir, parallelism == null ? defaults.parallelism() : parallelism, sourceInsecure,
                        targetInsecure || chunkDictInsecure, plainHttp, pushRetry.count(), pushRetry.delay())
                .withFsVersion(fsVersion);
        if (buildCache != null || buildCacheTag != null) {
            parent.err.println("[nydusify] WARN: the build cache (" + (buildCache != null ? "--build-cache "
                    + buildCache : "--build-cache-tag " + buildCacheTag) + ") is not supported by nydus4j; every"
                    + " layer is converted (same result, no cache image is read or written)");
            parent.err.flush();
        }
        Converter converter = new Converter(options, parent.err);
        long start = System.nanoTime();
        String digest = converter.convert(src, dst);
        long millis = (System.nanoTime() - start) / 1_000_000;
        parent.out.println("converted " + src + " to " + dst + " (" + digest + ") in " + millis + " ms");
        if (outputJson != null) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("source_reference", src.text());
            m.put("target_reference", dst.text());
            m.putAll(converter.metrics().toMap(millis));
            Files.write(outputJson, new com.fasterxml.jackson.databind.ObjectMapper()
                    .writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        }
        return 0;
    }

    private void validate() {
        if (fsVersion != 5 && fsVersion != 6) {
            throw new IllegalArgumentException("invalid --fs-version " + fsVersion + ": expected 5 or 6");
        }
        if (target != null && targetSuffix != null || target == null && targetSuffix == null && targetArchive == null) {
            throw new IllegalArgumentException("give exactly one of --target and --target-suffix (or --target-archive)");
        }
        if (reverse) {
            throw new IllegalArgumentException("--reverse (nydus -> OCI, experimental upstream) is not supported by"
                    + " nydus4j; it converts OCI/Docker images to nydus only");
        }
        if (sourceBackend != null) {
            throw new IllegalArgumentException("--source-backend-type/--source-backend-config (model artifact"
                    + " sources) are not supported by nydus4j");
        }
        if (buildCache != null && buildCacheTag != null) {
            throw new IllegalArgumentException("--build-cache and --build-cache-tag are mutually exclusive");
        }
        if (buildCacheMaxRecords < 1 || buildCacheMaxRecords > 200) {
            throw new IllegalArgumentException("--build-cache-max-records must be within 1..200, got "
                    + buildCacheMaxRecords);
        }
        if (ociRef) {
            throw new IllegalArgumentException("--oci-ref (zran: nydus blobs that reference the original tar.gz layers,"
                    + " upstream nydus-image create --type targz-ref) is not supported: nydus4j builds no zran index;"
                    + " convert without --oci-ref (the data is then copied into nydus blobs)");
        }
        if (allPlatforms && platform != null) {
            throw new IllegalArgumentException("--all-platforms conflicts with --platform");
        }
        if (prefetchPatterns && prefetchDir != null) {
            throw new IllegalArgumentException("--prefetch-dir conflicts with --prefetch-patterns");
        }
        if (prefetchDir != null && !prefetchDir.startsWith("/")) {
            throw new IllegalArgumentException("--prefetch-dir must be an absolute path, got '" + prefetchDir + "'");
        }
        if (backendConfig != null && backendConfigFile != null) {
            throw new IllegalArgumentException("--backend-config and --backend-config-file are mutually exclusive");
        }
        if (!"0".equals(batchSize) && !"0x0".equals(batchSize)) {
            throw new IllegalArgumentException("--batch-size " + batchSize + " is not supported; use 0");
        }
    }

    private ExternalBlobBackend backend() throws IOException {
        if (backendType == null || backendType.isEmpty()) {
            return null;
        }
        String json = backendConfigFile != null ? Files.readString(backendConfigFile) : backendConfig;
        return ExternalBlobBackend.of(backendType, json, backendForcePush);
    }

    static int chunkSize(String s) {
        long v;
        try {
            v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid --chunk-size '" + s + "': expected a number like 0x100000");
        }
        if (v < 0x1000 || v > 0x100_0000 || Long.bitCount(v) != 1) {
            throw new IllegalArgumentException(String.format(
                    "invalid --chunk-size %s: expected a power of two in [0x1000, 0x1000000]", s));
        }
        return (int) v;
    }
}
