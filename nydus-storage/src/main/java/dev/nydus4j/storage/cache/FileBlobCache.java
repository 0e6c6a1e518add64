package dev.nydus4j.storage.cache;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheMetrics;
import dev.nydus4j.spi.CacheBlobInfo;
import dev.nydus4j.spi.CacheChunk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * The {@code blobcache}/{@code filecache} cache of one blob in upstream's work_dir layout (BACKENDS.md 10):
 * {@code <id>.blob.data} holds plain chunk bytes at their uncompressed offsets, or, in compressed mode,
 * {@code <id>.blob.raw} holds stored chunk bytes at their compressed offsets; {@code <id>.blob.data.chunk_map}
 * (both modes, as upstream) says which chunks are complete.
 *
 * <p>Crash safety: a chunk's bit is set only after every byte of it was written to the data file (positional
 * writes land in the page cache, which survives the death of the process), so a process killed mid-write leaves
 * the chunk missing, never torn. The chunk map records the cache mode: a work_dir written in the other mode is
 * detected when opened and discarded together with its data, never served (upstream would return compressed bytes
 * as plain data). Thread-safe.
 */
public final class FileBlobCache implements BlobCache {
    private static final Logger LOG = LoggerFactory.getLogger(FileBlobCache.class);

    private final CacheBlobInfo blob;
    private final boolean compressed;
    private final Path dataPath;
    private final ChunkMap map;
    private final FileChannel data;
    private final BlobCacheMetrics metrics;
    private final boolean discardedStale;

    private FileBlobCache(CacheBlobInfo blob, boolean compressed, Path dataPath, ChunkMap map, FileChannel data,
                          BlobCacheMetrics metrics, boolean discardedStale) {
        this.blob = blob;
        this.compressed = compressed;
        this.dataPath = dataPath;
        this.map = map;
        this.data = data;
        this.metrics = metrics;
        this.discardedStale = discardedStale;
    }

    /**
     * Opens or creates the cache files of {@code blob} in {@code workDir}.
     *
     * @param compressed keep stored (compressed) chunk bytes in {@code .blob.raw} instead of plain bytes
     * @throws CorruptImageException for a blob id that cannot be a file name
     */
    public static FileBlobCache open(Path workDir, CacheBlobInfo blob, boolean compressed, BlobCacheMetrics metrics)
            throws IOException {
        String id = blob.blobId();
        if (!id.matches("[0-9a-zA-Z._-]{1,255}") || id.startsWith(".")) {
            throw new CorruptImageException("blob table", -1, "invalid blob id '" + id + "'");
        }
        Files.createDirectories(workDir);
        Path dataPath = workDir.resolve(id + (compressed ? ".blob.raw" : ".blob.data"));
        Path otherPath = workDir.resolve(id + (compressed ? ".blob.data" : ".blob.raw"));
        ChunkMap m = ChunkMap.open(workDir.resolve(id + ".blob.data.chunk_map"), blob.chunkCount(),
                compressed ? ChunkMap.Mode.COMPRESSED : ChunkMap.Mode.UNCOMPRESSED);
        FileChannel d = null;
        try {
            d = FileChannel.open(dataPath, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            boolean stale = m.wasReset();
            if (stale) {
                LOG.warn("cache of blob {} in {} was written in another cache mode or for another chunk count;"
                        + " discarding it (now {} mode)", id, workDir, compressed ? "compressed" : "uncompressed");
                d.truncate(0);
                Files.deleteIfExists(otherPath);
            }
            return new FileBlobCache(blob, compressed, dataPath, m, d, metrics, stale);
        } catch (IOException | RuntimeException e) {
            m.close();
            if (d != null) {
                d.close();
            }
            throw e;
        }
    }

    @Override
    public CacheBlobInfo blob() {
        return blob;
    }

    @Override
    public boolean storesCompressed() {
        return compressed;
    }

    /** Whether an existing cache of this blob was discarded on open (other mode or chunk count). */
    public boolean discardedStale() {
        return discardedStale;
    }

    /** The data file ({@code .blob.data} or {@code .blob.raw}). */
    public Path dataPath() {
        return dataPath;
    }

    @Override
    public boolean contains(int index) {
        return index >= 0 && index < map.chunkCount() && map.isReady(index);
    }

    @Override
    public boolean get(CacheChunk chunk, int from, ByteBuffer dst) throws IOException {
        if (!contains(chunk.index())) {
            return false;
        }
        int size = compressed ? chunk.compressedSize() : chunk.uncompressedSize();
        if (from < 0 || dst.remaining() > size - from) {
            throw new IllegalArgumentException("range " + from + "+" + dst.remaining() + " outside chunk "
                    + chunk.index() + " of " + size + " cached bytes");
        }
        long pos = (compressed ? chunk.compressedOffset() : chunk.uncompressedOffset()) + from;
        while (dst.hasRemaining()) {
            int r = data.read(dst, pos);
            if (r < 0) {
                throw new CorruptImageException(dataPath.toString(), pos,
                        "cache file shorter than its chunk map claims (chunk " + chunk.index() + ")");
            }
            pos += r;
        }
        return true;
    }

    @Override
    public void put(CacheChunk chunk, ByteBuffer bytes) throws IOException {
        int size = compressed ? chunk.compressedSize() : chunk.uncompressedSize();
        if (bytes.remaining() != size) {
            throw new IllegalArgumentException("chunk " + chunk.index() + " of blob " + blob.blobId() + ": "
                    + bytes.remaining() + " bytes given, the cache keeps " + size);
        }
        if (chunk.index() >= map.chunkCount()) {
            throw new IndexOutOfBoundsException("chunk " + chunk.index() + " outside the " + map.chunkCount()
                    + " chunks of blob " + blob.blobId());
        }
        long base = compressed ? chunk.compressedOffset() : chunk.uncompressedOffset();
        ByteBuffer b = bytes.duplicate();
        while (b.hasRemaining()) {
            data.write(b, base + (b.position() - bytes.position()));
        }
        map.setReady(chunk.index()); // only after every byte is written
        metrics.stored(size);
    }

    @Override
    public int readyCount() {
        return map.readyCount();
    }

    @Override
    public List<String> files() {
        return List.of(dataPath.getFileName().toString());
    }

    @Override
    public Map<String, Object> metrics() {
        return Map.of("entries_count", (long) map.readyCount(), "data_all_ready",
                map.readyCount() == map.chunkCount());
    }

    @Override
    public void close() throws IOException {
        try (ChunkMap m = map; FileChannel d = data) {
            // closes both
        }
    }
}
