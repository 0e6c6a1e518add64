/**
 * The run-time data path: {@link dev.nydus4j.storage.device.BlobDevice} maps chunks to bytes through backends
 * and the blob cache; {@link dev.nydus4j.storage.device.ChunkDecoder} decompresses and verifies chunks.
 */
package dev.nydus4j.storage.device;
