package dev.nydus4j.storage.cache;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.spi.BlobCache;
import dev.nydus4j.spi.BlobCacheContext;
import dev.nydus4j.spi.BlobCacheProvider;
import dev.nydus4j.spi.CacheBlobInfo;
import dev.nydus4j.spi.CacheChunk;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A third-party-style cache plugin for tests: plain chunks in memory, registered through META-INF/services. */
public final class MemoryCacheProvider implements BlobCacheProvider {
    /** Caches opened through any instance, by blob id (tests inspect them). */
    public static final Map<String, Memory> OPENED = new ConcurrentHashMap<>();

    @Override
    public List<String> types() {
        return List.of("memory-test");
    }

    @Override
    public BlobCache open(CacheConfig config, CacheBlobInfo blob, BlobCacheContext context) {
        Memory m = new Memory(blob);
        OPENED.put(blob.blobId(), m);
        return m;
    }

    /** The cache of one blob. */
    public static final class Memory implements BlobCache {
        private final CacheBlobInfo blob;
        private final Map<Integer, byte[]> chunks = new ConcurrentHashMap<>();
        public final AtomicInteger gets = new AtomicInteger();
        public final AtomicInteger puts = new AtomicInteger();

        Memory(CacheBlobInfo blob) {
            this.blob = blob;
        }

        @Override
        public CacheBlobInfo blob() {
            return blob;
        }

        @Override
        public boolean storesCompressed() {
            return false;
        }

        @Override
        public boolean contains(int index) {
            return chunks.containsKey(index);
        }

        @Override
        public boolean get(CacheChunk chunk, int from, ByteBuffer dst) {
            byte[] b = chunks.get(chunk.index());
            if (b == null) {
                return false;
            }
            gets.incrementAndGet();
            dst.put(b, from, dst.remaining());
            return true;
        }

        @Override
        public void put(CacheChunk chunk, ByteBuffer data) {
            byte[] b = new byte[data.remaining()];
            data.duplicate().get(b);
            chunks.put(chunk.index(), b);
            puts.incrementAndGet();
        }

        @Override
        public int readyCount() {
            return chunks.size();
        }

        @Override
        public void close() {
        }
    }
}
