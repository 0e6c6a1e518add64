package dev.nydus4j.spi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The local cache of one data blob, opened by a {@link BlobCacheProvider}. The core (the blob device) decides
 * what to fetch, merges requests, decodes and verifies; a cache only stores and returns bytes of chunks.
 *
 * <p>A cache holds each chunk in one form, chosen when it is opened: the plain (decompressed, verified) bytes, or,
 * when {@link #storesCompressed()}, the stored bytes exactly as fetched from the backend (the core decodes them on
 * every hit). {@link #put} makes a chunk visible to {@link #contains}/{@link #get} only after all its bytes were
 * written, so a process killed mid-write never leaves a chunk that reads torn: it is simply missing.
 *
 * <p>Implementations are thread-safe. Concurrent {@link #put}s of the same chunk write the same bytes. {@link
 * #close()} is idempotent.
 */
public interface BlobCache extends AutoCloseable {

    /** Blob this cache holds. */
    CacheBlobInfo blob();

    /** Whether chunks are kept as stored in the blob (compressed) rather than as plain bytes. */
    boolean storesCompressed();

    /**
     * Whether {@link #put} keeps anything. False for a pass-through cache ({@code dummycache}): the core then
     * neither amplifies reads nor offers chunks to it.
     */
    default boolean persistent() {
        return true;
    }

    /** Whether chunk {@code index} is fully present. */
    boolean contains(int index);

    /**
     * Copies bytes {@code [from, from + dst.remaining())} of the chunk's cached form into {@code dst}.
     *
     * @return false, touching nothing, when the chunk is not present
     */
    boolean get(CacheChunk chunk, int from, ByteBuffer dst) throws IOException;

    /**
     * Stores the chunk's form ({@code compressedSize} stored bytes when {@link #storesCompressed()}, else
     * {@code uncompressedSize} plain bytes) from {@code data}'s position to its limit, then marks it present.
     */
    void put(CacheChunk chunk, ByteBuffer data) throws IOException;

    /** Number of chunks present. */
    int readyCount();

    /** Files this cache keeps, relative to its store path (for {@code underlying_files}); empty when none. */
    default java.util.List<String> files() {
        return java.util.List.of();
    }

    /** Implementation-specific counters, merged into the blobcache metrics; empty by default. */
    default Map<String, Object> metrics() {
        return Map.of();
    }

    @Override
    void close() throws IOException;
}
