package dev.nydus4j.convert;

import dev.nydus4j.storage.CompressionAlgorithm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of one conversion (API spec 5.1). Immutable.
 *
 * @param platforms        platforms to convert from an index (ignored for single manifests and with allPlatforms)
 * @param allPlatforms     convert every platform of an index
 * @param mergePlatform    publish an index holding the source manifests and the nydus ones (spec 6.5)
 * @param oci              force OCI media types
 * @param withReferrer     give each nydus manifest its source manifest as OCI {@code subject} (spec 6.6)
 * @param compressor       chunk compressor
 * @param chunkSize        chunk size (power of two)
 * @param chunkDict        {@code bootstrap:local:PATH} / {@code bootstrap:registry:REF}, or null
 * @param prefetchPatterns absolute paths to prefetch (empty: none listed)
 * @param backend          external blob backend, or null to push blobs to the target registry / layout
 * @param workDir          where per-run temp dirs go
 * @param parallelism      layers converted at once (>= 1)
 * @param sourceInsecure   skip TLS verification for the source (and allow http)
 * @param targetInsecure   the same for the target and the chunk dict
 * @param plainHttp        talk plain http to registries
 * @param pushRetryCount   retries of a failed push
 * @param pushRetryDelay   pause between retries
 * @param fsVersion        RAFS version of the layer and merged bootstraps: 5 or 6
 */
public record ConvertOptions(List<Platform> platforms, boolean allPlatforms, boolean mergePlatform, boolean oci,
                             boolean withReferrer,
                             CompressionAlgorithm compressor, int chunkSize, String chunkDict,
                             List<String> prefetchPatterns, ExternalBlobBackend backend, Path workDir,
                             int parallelism, boolean sourceInsecure, boolean targetInsecure, boolean plainHttp,
                             int pushRetryCount, Duration pushRetryDelay, int fsVersion) {
    public ConvertOptions {
        platforms = List.copyOf(platforms);
        prefetchPatterns = List.copyOf(prefetchPatterns);
        Objects.requireNonNull(compressor, "compressor is null");
        Objects.requireNonNull(workDir, "workDir is null");
        Objects.requireNonNull(pushRetryDelay, "pushRetryDelay is null");
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
        }
        if (pushRetryCount < 0) {
            throw new IllegalArgumentException("--push-retry-count must be >= 0, got " + pushRetryCount);
        }
        if (fsVersion != 5 && fsVersion != 6) {
            throw new IllegalArgumentException("invalid --fs-version " + fsVersion + ": expected 5 or 6");
        }
        if (compressor == CompressionAlgorithm.GZIP) {
            throw new IllegalArgumentException("compressor gzip is not supported for nydus blobs; use zstd, lz4_block or none");
        }
    }

    /** Upstream defaults: host platform, zstd, 1 MiB chunks, ./tmp, 3 retries 5 s apart, 2 layers at once. */
    public static ConvertOptions defaults() {
        return new ConvertOptions(List.of(Platform.host()), false, false, false, false, CompressionAlgorithm.ZSTD,
                0x10_0000, null, List.of(), null, Path.of("tmp"),
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), false, false, false, 3,
                Duration.ofSeconds(5), 6);
    }

    public ConvertOptions withPlatforms(List<Platform> p, boolean all) {
        return new ConvertOptions(p, all, mergePlatform, oci, withReferrer, compressor, chunkSize, chunkDict, prefetchPatterns,
                backend, workDir, parallelism, sourceInsecure, targetInsecure, plainHttp, pushRetryCount,
                pushRetryDelay, fsVersion);
    }

    public ConvertOptions withLayout(boolean merge, boolean forceOci) {
        return new ConvertOptions(platforms, allPlatforms, merge, forceOci, withReferrer, compressor, chunkSize, chunkDict,
                prefetchPatterns, backend, workDir, parallelism, sourceInsecure, targetInsecure, plainHttp,
                pushRetryCount, pushRetryDelay, fsVersion);
    }

    public ConvertOptions withReferrer(boolean subject) {
        return new ConvertOptions(platforms, allPlatforms, mergePlatform, oci, subject, compressor, chunkSize,
                chunkDict, prefetchPatterns, backend, workDir, parallelism, sourceInsecure, targetInsecure, plainHttp,
                pushRetryCount, pushRetryDelay, fsVersion);
    }

    public ConvertOptions withBuild(CompressionAlgorithm c, int size, String dict, List<String> prefetch) {
        return new ConvertOptions(platforms, allPlatforms, mergePlatform, oci, withReferrer, c, size, dict, prefetch, backend,
                workDir, parallelism, sourceInsecure, targetInsecure, plainHttp, pushRetryCount, pushRetryDelay, fsVersion);
    }

    public ConvertOptions withBackend(ExternalBlobBackend b) {
        return new ConvertOptions(platforms, allPlatforms, mergePlatform, oci, withReferrer, compressor, chunkSize, chunkDict,
                prefetchPatterns, b, workDir, parallelism, sourceInsecure, targetInsecure, plainHttp, pushRetryCount,
                pushRetryDelay, fsVersion);
    }

    public ConvertOptions withRun(Path dir, int threads, boolean srcInsecure, boolean dstInsecure, boolean http,
                                  int retries, Duration delay) {
        return new ConvertOptions(platforms, allPlatforms, mergePlatform, oci, withReferrer, compressor, chunkSize, chunkDict,
                prefetchPatterns, backend, dir, threads, srcInsecure, dstInsecure, http, retries, delay, fsVersion);
    }

    /** Writing RAFS {@code version} (5 or 6) bootstraps. */
    public ConvertOptions withFsVersion(int version) {
        return new ConvertOptions(platforms, allPlatforms, mergePlatform, oci, withReferrer, compressor, chunkSize, chunkDict,
                prefetchPatterns, backend, workDir, parallelism, sourceInsecure, targetInsecure, plainHttp, pushRetryCount,
                pushRetryDelay, version);
    }
}
