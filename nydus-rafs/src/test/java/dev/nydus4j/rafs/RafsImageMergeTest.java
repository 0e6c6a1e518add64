package dev.nydus4j.rafs;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.cache.CacheRegistry;
import dev.nydus4j.storage.device.BlobDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** RafsImage hands the blob device its chunk tables, so reading an image merges neighbouring chunk fetches. */
class RafsImageMergeTest {

    @Test
    void readingEveryFileMergesChunkFetchesAndFetchesEachByteOnce(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 5, false);
        AtomicInteger requests = new AtomicInteger();
        AtomicLong bytes = new AtomicLong();
        BlobDevice device = BlobDevice.builder()
                .backend(id -> new CountingFileBackend(id, img.blobFile, requests, bytes))
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        tmp.resolve("cache").toString()))
                .build();
        Map<String, byte[]> merged;
        try (RafsImage fs = RafsImage.open(img.tree, device)) {
            merged = readAll(fs);
        }
        Map<String, byte[]> direct;
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            direct = readAll(fs);
        }
        assertThat(merged.keySet()).isEqualTo(direct.keySet()).isNotEmpty();
        merged.forEach((p, b) -> assertThat(b).as(p).isEqualTo(direct.get(p)));
        int chunks = img.tree.blobs.get(0).chunkCount();
        assertThat(chunks).isGreaterThan(3);
        // the blob is far below amplify_io: the first miss fetches every chunk from it to the end of the blob in
        // one request, the next miss before it the rest; each byte is fetched once
        assertThat(requests.get()).isBetween(1, 2).isLessThan(chunks);
        assertThat(bytes.get()).isLessThanOrEqualTo(Files.size(img.blobFile));
    }

    private static Map<String, byte[]> readAll(RafsImage fs) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Deque<Object[]> todo = new ArrayDeque<>();
        todo.push(new Object[] {"", fs.rootInode()});
        while (!todo.isEmpty()) {
            Object[] d = todo.pop();
            for (DirEntry e : fs.readdir((Long) d[1])) {
                if (e.name().equals(".") || e.name().equals("..")) {
                    continue;
                }
                String path = d[0] + "/" + e.name();
                if (e.type() == FileType.DIRECTORY) {
                    todo.push(new Object[] {path, e.ino()});
                } else if (e.type() == FileType.REGULAR) {
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    ByteBuffer buf = ByteBuffer.allocate(5000);
                    long off = 0;
                    int n;
                    while (buf.clear() != null && (n = fs.read(e.ino(), off, buf)) > 0) {
                        b.write(buf.array(), 0, n);
                        off += n;
                    }
                    out.put(path, b.toByteArray());
                }
            }
        }
        return out;
    }

    private record CountingFileBackend(String blobId, Path file, AtomicInteger requests, AtomicLong bytes)
            implements BlobBackend {
        @Override
        public long size() throws IOException {
            return Files.size(file);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            requests.incrementAndGet();
            try (FileChannel ch = FileChannel.open(file)) {
                int n = ch.read(dst, position);
                bytes.addAndGet(Math.max(n, 0));
                return n;
            }
        }

        @Override
        public void close() {
        }
    }
}
