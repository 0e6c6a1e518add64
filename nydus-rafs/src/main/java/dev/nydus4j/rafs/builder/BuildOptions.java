package dev.nydus4j.rafs.builder;

import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Settings of one {@link ImageBuilder} run (upstream {@code nydus-image create} flags). Immutable; use the
 * {@code with*} methods to derive variants from {@link #defaults()}.
 *
 * @param sourceType          what the source is
 * @param compressor          chunk compression
 * @param digester            chunk digest algorithm
 * @param chunkSize           power of two in [0x1000, 0x1000000]
 * @param whiteoutSpec        how whiteouts in the source are expressed
 * @param prefetchPaths       absolute paths to prefetch (non-absolute entries are ignored)
 * @param chunkDictBootstrap  bootstrap whose chunks may be referenced instead of stored again, or null
 * @param parentBootstrap     bootstrap this layer is built on top of, or null
 * @param blobInlineMeta      append the per-layer bootstrap to the data blob (INLINED_FS_META)
 * @param blobToc             write a ToC (always on with the blob writer in use; kept for flag parity)
 */
public record BuildOptions(SourceType sourceType, CompressionAlgorithm compressor, DigestAlgorithm digester,
                           int chunkSize, WhiteoutSpec whiteoutSpec, List<String> prefetchPaths,
                           Path chunkDictBootstrap, Path parentBootstrap, boolean blobInlineMeta, boolean blobToc) {
    public static final int MIN_CHUNK_SIZE = 0x1000;
    public static final int MAX_CHUNK_SIZE = 0x100_0000;
    public static final int DEFAULT_CHUNK_SIZE = 0x10_0000;

    public BuildOptions {
        Objects.requireNonNull(sourceType, "sourceType is null");
        Objects.requireNonNull(compressor, "compressor is null");
        Objects.requireNonNull(digester, "digester is null");
        Objects.requireNonNull(whiteoutSpec, "whiteoutSpec is null");
        if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException(String.format(
                    "chunk size 0x%x is invalid: expected a power of two in [0x1000, 0x1000000]", chunkSize));
        }
        prefetchPaths = List.copyOf(prefetchPaths);
    }

    /** Upstream defaults: auto source, zstd, blake3, 1 MiB chunks, OCI whiteouts, no prefetch, ToC on. */
    public static BuildOptions defaults() {
        return new BuildOptions(SourceType.AUTO, CompressionAlgorithm.ZSTD, DigestAlgorithm.BLAKE3,
                DEFAULT_CHUNK_SIZE, WhiteoutSpec.OCI, List.of(), null, null, false, true);
    }

    public BuildOptions withSourceType(SourceType t) {
        return new BuildOptions(t, compressor, digester, chunkSize, whiteoutSpec, prefetchPaths, chunkDictBootstrap,
                parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withCompressor(CompressionAlgorithm c) {
        return new BuildOptions(sourceType, c, digester, chunkSize, whiteoutSpec, prefetchPaths, chunkDictBootstrap,
                parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withDigester(DigestAlgorithm d) {
        return new BuildOptions(sourceType, compressor, d, chunkSize, whiteoutSpec, prefetchPaths,
                chunkDictBootstrap, parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withChunkSize(int size) {
        return new BuildOptions(sourceType, compressor, digester, size, whiteoutSpec, prefetchPaths,
                chunkDictBootstrap, parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withWhiteoutSpec(WhiteoutSpec w) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, w, prefetchPaths, chunkDictBootstrap,
                parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withPrefetchPaths(List<String> paths) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, whiteoutSpec, paths, chunkDictBootstrap,
                parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withChunkDictBootstrap(Path p) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, whiteoutSpec, prefetchPaths, p,
                parentBootstrap, blobInlineMeta, blobToc);
    }

    public BuildOptions withParentBootstrap(Path p) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, whiteoutSpec, prefetchPaths,
                chunkDictBootstrap, p, blobInlineMeta, blobToc);
    }

    public BuildOptions withBlobInlineMeta(boolean b) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, whiteoutSpec, prefetchPaths,
                chunkDictBootstrap, parentBootstrap, b, blobToc);
    }

    public BuildOptions withBlobToc(boolean b) {
        return new BuildOptions(sourceType, compressor, digester, chunkSize, whiteoutSpec, prefetchPaths,
                chunkDictBootstrap, parentBootstrap, blobInlineMeta, b);
    }
}
