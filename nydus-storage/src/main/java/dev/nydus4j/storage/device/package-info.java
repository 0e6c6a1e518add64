/**
 * The run-time data path: {@link dev.nydus4j.storage.device.BlobDevice} maps chunks to bytes through backends
 * and a blob cache (one in-flight fetch per chunk; contiguous missing chunks merged into one backend range of at
 * most {@code max(amplify_io, 128 KiB)}); {@link dev.nydus4j.storage.device.ChunkDecoder} decompresses and verifies
 * chunks; {@link dev.nydus4j.storage.device.BoundedExecutor} is the bounded executor backends get in their
 * context; {@link dev.nydus4j.storage.device.BackendStats} holds the backend metrics.
 */
package dev.nydus4j.storage.device;
