package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.rafs.builder.WhiteoutSpec;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code nydus-image create}: directory or tar stream to RAFS v6 bootstrap + data blob (API spec 4.1). */
@Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Create a RAFS filesystem image from a directory, a tar or a tar.gz stream.")
final class CreateCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CreateCommand.class);

    @ParentCommand
    NydusImageCommand parent;

    @Parameters(index = "0", paramLabel = "SOURCE",
            description = "Source directory, tar/tar.gz file, FIFO or /dev/stdin.")
    Path source;

    @Option(names = {"-t", "--type", "--source-type"}, defaultValue = "dir-rafs", paramLabel = "TYPE",
            description = "Conversion type: dir-rafs (alias directory), tar-rafs, targz-rafs "
                    + "(estargz-rafs, targz-ref, estargz-ref, estargztoc-ref, stargz_index, tar-tarfs are not supported yet). "
                    + "Default: ${DEFAULT-VALUE}.")
    String type;

    @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "Output file for the filesystem metadata.")
    Path bootstrap;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR",
            description = "Existing directory receiving the data blob named by its sha256 hex.")
    Path blobDir;

    @Option(names = {"-b", "--blob"}, paramLabel = "FILE", description = "Output path of the data blob (file or FIFO).")
    Path blob;

    @Option(names = {"--blob-inline-meta", "--inline-bootstrap"},
            description = "Append the metadata (bootstrap, blob meta, ToC) to the data blob; no separate bootstrap.")
    boolean blobInlineMeta;

    @Option(names = "--blob-id", paramLabel = "ID", description = "Override the blob id (at most 255 characters).")
    String blobId;

    @Option(names = "--compressor", defaultValue = "zstd", paramLabel = "ALGO",
            description = "Chunk compressor: none, lz4_block, zstd. Default: ${DEFAULT-VALUE}.")
    String compressor;

    @Option(names = "--digester", defaultValue = "blake3", paramLabel = "ALGO",
            description = "Chunk digester: blake3, sha256. Default: ${DEFAULT-VALUE}.")
    String digester;

    @Option(names = "--chunk-size", defaultValue = "0x100000", converter = SizeConverter.class, paramLabel = "SIZE",
            description = "Chunk size, power of two in [0x1000, 0x1000000]. Default: ${DEFAULT-VALUE}.")
    long chunkSize;

    @Option(names = "--batch-size", defaultValue = "0", converter = SizeConverter.class, paramLabel = "SIZE",
            description = "Batch size for small chunks (0 = off; batching is not supported yet, only 0 is accepted).")
    long batchSize;

    @Option(names = {"-v", "--fs-version"}, defaultValue = "6", paramLabel = "VERSION",
            description = "RAFS version to write: 5 or 6. Default: ${DEFAULT-VALUE}.")
    int fsVersion;

    @Option(names = "--features", split = ",", paramLabel = "FEATURE", description = "Image features: blob-toc.")
    List<String> features = List.of();

    @Option(names = "--chunk-dict", paramLabel = "bootstrap=PATH", description = "Chunk dictionary for dedup.")
    String chunkDict;

    @Option(names = "--parent-bootstrap", paramLabel = "FILE", description = "Build an upper layer on this bootstrap.")
    Path parentBootstrap;

    @Option(names = "--aligned-chunk", description = "Align chunks to 4 KiB (always on for RAFS v6).")
    boolean alignedChunk;

    @Option(names = "--repeatable", description = "Produce reproducible metadata.")
    boolean repeatable;

    @Option(names = "--disable-check", hidden = true, description = "Skip the post-build validation.")
    boolean disableCheck;

    @Option(names = "--whiteout-spec", defaultValue = "oci", paramLabel = "SPEC",
            description = "Whiteout convention of the source: oci, overlayfs, none. Default: ${DEFAULT-VALUE}.")
    String whiteoutSpec;

    @Option(names = "--prefetch-policy", defaultValue = "none", paramLabel = "POLICY",
            description = "fs, blob or none; when not none, reads absolute paths to prefetch from stdin until EOF. "
                    + "Default: ${DEFAULT-VALUE}.")
    PrefetchPolicy prefetchPolicy;

    @Option(names = {"-J", "--output-json"}, paramLabel = "FILE", description = "Write the result JSON here.")
    Path outputJson;

    @Option(names = {"-E", "--encrypt"}, description = "Encrypt metadata and data (not supported by nydus4j yet).")
    boolean encrypt;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "Config used to read parent/chunk-dict blobs (ignored: local files only).")
    Path config;

    @Option(names = "--blob-offset", hidden = true, defaultValue = "0", converter = SizeConverter.class)
    long blobOffset;

    @Option(names = "--blob-data-size", paramLabel = "SIZE", description = "Data blob size (stargz_index only; not supported).")
    String blobDataSize;

    @Option(names = "--blob-cache-dir", paramLabel = "DIR", description = "Generate blob cache files instead of a blob (not supported yet).")
    Path blobCacheDir;

    @Option(names = "--external-blob", paramLabel = "FILE", description = "External blob output (not supported yet).")
    Path externalBlob;

    @Option(names = "--attributes", paramLabel = "FILE", description = ".nydusattributes file (not supported yet).")
    Path attributes;

    @Override
    public Integer call() throws IOException {
        SourceType sourceType = sourceType(type);
        validate();
        CompressionAlgorithm comp = CompressionAlgorithm.fromName(compressor);
        if (comp == CompressionAlgorithm.GZIP) {
            throw new IllegalArgumentException("compressor gzip is only produced by *-ref conversions, which are not supported yet");
        }
        DigestAlgorithm dig = DigestAlgorithm.fromName(digester);
        int chunk = SizeConverter.chunkSize("--chunk-size", chunkSize);
        Path dict = ChunkDictArgument.parse(chunkDict);
        BasicFileAttributes attrs = Files.readAttributes(source, BasicFileAttributes.class);
        boolean stream = attrs.isOther(); // FIFO or character device such as /dev/stdin
        if (stream && prefetchPolicy != PrefetchPolicy.NONE && isStdin(source)) {
            throw new IllegalArgumentException("cannot read both the prefetch list and the source from stdin");
        }
        if (attrs.isDirectory() && sourceType != SourceType.DIR) {
            throw new IllegalArgumentException("source " + source + " is a directory but --type is " + type + "; use --type dir-rafs");
        }
        if (!attrs.isDirectory() && sourceType == SourceType.DIR) {
            throw new IllegalArgumentException("source " + source + " is not a directory; use --type tar-rafs or targz-rafs");
        }
        List<String> prefetch = prefetchPolicy.readPatterns(parent.stdin());

        BuildOptions options = new BuildOptions(sourceType, comp, dig, chunk, whiteout(whiteoutSpec), prefetch,
                dict, parentBootstrap, blobInlineMeta, blobInlineMeta || features.contains("blob-toc"));
        long start = System.nanoTime();
        BuildResult result;
        ImageBuilder builder = new ImageBuilder(options, fsVersion);
        if (!stream) {
            result = builder.build(source, bootstrap, blob, blobDir);
        } else {
            // FIFOs and character devices cannot seek: read them through a stream whose skip reads
            try (InputStream in = new SequentialInputStream(new FileInputStream(source.toFile()))) {
                result = builder.build(in, bootstrap, blob, blobDir);
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        LOG.info("image built in {} ms: bootstrap {}, blobs {}", millis, result.bootstrap(), result.blobIds());
        if (outputJson != null) {
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("total_build_ms", millis);
            ResultJson.of(result.bootstrap(), result.blobIds(), trace, fsVersion,
                    comp.configName()).write(outputJson);
        }
        return 0;
    }

    private void validate() throws IOException {
        if (encrypt) {
            throw new IllegalArgumentException("encryption (-E/--encrypt) is not supported by nydus4j yet");
        }
        if (fsVersion != 5 && fsVersion != 6) {
            throw new IllegalArgumentException("invalid --fs-version " + fsVersion + ": expected 5 or 6");
        }
        if (batchSize != 0) {
            SizeConverter.chunkSize("--batch-size", batchSize);
            throw new IllegalArgumentException("--batch-size " + batchSize + " is not supported yet; use 0 (no batching)");
        }
        for (String f : features) {
            if (!f.equals("blob-toc")) {
                throw new IllegalArgumentException("unsupported feature '" + f + "': supported features are blob-toc");
            }
        }
        if (blobCacheDir != null || externalBlob != null || attributes != null || blobDataSize != null) {
            throw new IllegalArgumentException("--blob-cache-dir, --external-blob, --attributes and --blob-data-size are not supported yet");
        }
        if (blobOffset != 0) {
            throw new IllegalArgumentException("--blob-offset other than 0 is not supported");
        }
        if (blobInlineMeta && bootstrap != null) {
            throw new IllegalArgumentException("--blob-inline-meta conflicts with --bootstrap");
        }
        if (blobInlineMeta && blobId != null) {
            throw new IllegalArgumentException("--blob-inline-meta conflicts with --blob-id");
        }
        if (blobId != null) {
            throw new IllegalArgumentException("--blob-id is only needed by estargz conversions, which are not supported yet");
        }
        if (bootstrap == null && blobDir == null && !blobInlineMeta) {
            throw new IllegalArgumentException("missing output: give --bootstrap, --blob-dir or --blob-inline-meta");
        }
        if (blob == null && blobDir == null) {
            throw new IllegalArgumentException("both --blob and --blob-dir or --blob-cache-dir are missing");
        }
        if (blobDir != null && !Files.isDirectory(blobDir)) {
            throw new IllegalArgumentException("--blob-dir " + blobDir + " does not exist or is not a directory");
        }
        if (config != null) {
            LOG.warn("--config {} ignored: parent and chunk-dict blobs are read from local files", config);
        }
        if (repeatable) {
            LOG.debug("--repeatable: metadata is written deterministically for identical input");
        }
        if (alignedChunk) {
            LOG.debug("--aligned-chunk: RAFS v6 chunks are always 4 KiB aligned");
        }
        if (disableCheck) {
            LOG.debug("--disable-check given");
        }
    }

    static SourceType sourceType(String t) {
        switch (t) {
            case "dir-rafs":
            case "directory":
                return SourceType.DIR;
            case "tar-rafs":
                return SourceType.TAR;
            case "targz-rafs":
                return SourceType.TARGZ;
            case "estargz-rafs":
            case "targz-ref":
            case "estargz-ref":
            case "estargztoc-ref":
            case "stargz_index":
            case "tar-tarfs":
                throw new IllegalArgumentException("unsupported: conversion type " + t
                        + " is not implemented yet; supported: dir-rafs, directory, tar-rafs, targz-rafs");
            default:
                throw new IllegalArgumentException("invalid --type '" + t
                        + "': expected dir-rafs, directory, tar-rafs, targz-rafs, estargz-rafs, targz-ref, estargz-ref, "
                        + "estargztoc-ref, stargz_index or tar-tarfs");
        }
    }

    static WhiteoutSpec whiteout(String spec) {
        if (!spec.matches("oci|overlayfs|none")) {
            throw new IllegalArgumentException("invalid --whiteout-spec '" + spec + "': expected oci, overlayfs or none");
        }
        return WhiteoutSpec.fromName(spec);
    }

    private static boolean isStdin(Path p) {
        String s = p.toString();
        return s.equals("/dev/stdin") || s.equals("/proc/self/fd/0") || s.equals("/dev/fd/0");
    }
}
