/**
 * The data-blob side of nydus4j (upstream's {@code storage} crate).
 *
 * <p>Entry points: {@link dev.nydus4j.storage.CompressionAlgorithm} and
 * {@link dev.nydus4j.storage.DigestAlgorithm} (chunk codecs and digests with their on-disk ids; BLAKE3 is a
 * pure-Java implementation), {@link dev.nydus4j.storage.ChunkInfo} (where a chunk lives in its blob),
 * {@link dev.nydus4j.storage.ChunkReader} (one chunk's verified plain bytes) and its local-file implementation
 * {@link dev.nydus4j.storage.LocalChunkReader}. Blob layout reading and writing is in
 * {@link dev.nydus4j.storage.blob}.
 */
package dev.nydus4j.storage;
