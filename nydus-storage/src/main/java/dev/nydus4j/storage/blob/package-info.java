/**
 * Data blobs (RAFS spec 6): writing them ({@link dev.nydus4j.storage.blob.BlobWriter}), reading their
 * self-describing trailer ({@link dev.nydus4j.storage.blob.BlobFile}), and the blob table entry that describes
 * one ({@link dev.nydus4j.storage.blob.BlobInfo}).
 *
 * <p>Layout of a blob written by nydus4j (every section trailed by a 512-byte GNU tar header):
 * <pre>
 * image.blob     chunk data back to back (each chunk compressed only when strictly smaller)
 * blob.meta      chunk information array v1 (compressed when smaller) + 4096-byte blob.meta header
 * blob.digest    32-byte chunk digests in chunk-index order
 * image.boot     zstd-compressed bootstrap (only when inlined)
 * rafs.blob.toc  128-byte ToC entries with SHA-256 of every other section
 * </pre>
 * The blob id is the SHA-256 of the whole file. One small class per on-disk structure:
 * {@code TarHeader}, {@code ChunkInfoV1}, {@code ChunkInfoV2}, {@link dev.nydus4j.storage.blob.BlobMetaHeader},
 * {@code BlobDigestArray}, {@link dev.nydus4j.storage.blob.BlobToc}; {@code BlobTrailer} walks the sections and
 * {@code ChunkInfoArray} validates a decoded array.
 */
package dev.nydus4j.storage.blob;
