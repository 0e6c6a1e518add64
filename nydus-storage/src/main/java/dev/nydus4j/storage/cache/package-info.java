/**
 * Blob caches behind the {@link dev.nydus4j.spi.BlobCacheProvider} SPI, resolved by {@code cache.type} through
 * {@link dev.nydus4j.storage.cache.CacheRegistry} (ServiceLoader or explicit registration; "" means
 * {@code dummycache}):
 * <ul>
 *   <li>{@code blobcache} / {@code filecache}: {@link dev.nydus4j.storage.cache.FileBlobCache}, upstream's work_dir
 *       layout ({@code <id>.blob.data} or, with {@code compressed: true}, {@code <id>.blob.raw}, plus
 *       {@code <id>.blob.data.chunk_map} = {@link dev.nydus4j.storage.cache.ChunkMap}); crash-safe (a chunk is
 *       marked only after all its bytes are written) and guarded against a work_dir reused in the other mode;</li>
 *   <li>{@code dummycache} / {@code dummy}: keeps nothing.</li>
 * </ul>
 * A third-party cache implements {@link dev.nydus4j.spi.BlobCacheProvider} and {@link dev.nydus4j.spi.BlobCache}
 * (seeing only {@code nydus-api}) and lists its provider in
 * {@code META-INF/services/dev.nydus4j.spi.BlobCacheProvider}.
 */
package dev.nydus4j.storage.cache;
