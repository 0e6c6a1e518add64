/**
 * Image builder: directory or OCI layer tar (plain, gzip, zstd) → {@link dev.nydus4j.rafs.tree.RafsTree} plus one
 * data blob, and the multi-layer {@link dev.nydus4j.rafs.builder.Merger}.
 *
 * <p>Flow of {@link dev.nydus4j.rafs.builder.ImageBuilder#build}: a source ({@code DirectorySource} or
 * {@code TarSource}, one pass, never following symlinks) assembles the layer tree and streams each regular file
 * through {@code FileChunker}, which cuts chunk-size pieces, digests them on a small thread pool and, in
 * submission order on one writer thread, deduplicates them ({@code ChunkIndex}: this image, the parent image,
 * the chunk dictionary) and hands new ones to the {@link dev.nydus4j.rafs.builder.BlobSink} (nydus-storage's
 * {@code BlobWriter}). Whiteouts are kept as OCI markers in a single-layer tree (overlayfs markers are converted
 * to them) and applied by the merger, or right away when a parent bootstrap is given. The blob is sealed,
 * optionally gets the per-layer bootstrap inlined (placeholder blob id {@code "x" * 64}), and is named by its
 * sha256.
 *
 * <p>Limits: tar entry names and symlink targets are decoded as UTF-8 (non-UTF-8 bytes are not preserved);
 * xattrs outside the RAFS prefixes ({@code user.}, {@code trusted.}, {@code security.}, POSIX ACLs) are dropped
 * with a warning; RAFS v6 output only.
 */
package dev.nydus4j.rafs.builder;
