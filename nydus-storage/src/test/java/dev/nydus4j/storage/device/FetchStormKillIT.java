package dev.nydus4j.storage.device;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.cache.CacheRegistry;
import dev.nydus4j.storage.cache.ChunkMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * kill -9 during a fetch storm: a child JVM fills a blobcache from a slow backend with 16 threads; it is killed with
 * SIGKILL when about a quarter of the chunks are cached; the same work_dir is reopened here and everything is read:
 * identical bytes, and exactly the chunks not marked ready are fetched again (a chunk whose bytes were only partly
 * written is never served).
 */
class FetchStormKillIT {
    static final String ID = "5".repeat(64);
    static final int MIN = 16 << 10;
    static final int MAX = 96 << 10;
    private static final int CHUNKS = 160;
    private static final long SEED = 42;

    @TempDir
    Path tmp;

    @Test
    void killedMidStormThenEverythingReadsBackIdentical() throws Exception {
        Path w = tmp.resolve("work");
        Files.createDirectories(w);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                FetchStormChild.class.getName(), w.toString(), String.valueOf(CHUNKS), String.valueOf(SEED), "16",
                "500").redirectErrorStream(true).start();
        Path map = w.resolve(ID + ".blob.data.chunk_map");
        int readyAtKill;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            List<String> seen = new ArrayList<>();
            while ((line = out.readLine()) != null && !line.contains("STORM STARTED")) {
                seen.add(line);
            }
            assertThat(line).as("child output: %s", seen).isNotNull();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            while (readyBits(map) < CHUNKS / 4 && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(2);
            }
            assertThat(child.isAlive()).as("child still storming").isTrue();
            child.destroyForcibly(); // SIGKILL on Linux
            assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).isEqualTo(137);
            readyAtKill = readyBits(map);
        } finally {
            child.destroyForcibly();
        }
        assertThat(readyAtKill).as("killed mid-storm").isGreaterThan(0).isLessThan(CHUNKS);

        TestBlob b = new TestBlob(ID, CHUNKS, MIN, MAX, SEED);
        boolean[] ready = new boolean[CHUNKS];
        long missingBytes = 0;
        try (ChunkMap m = ChunkMap.open(map, CHUNKS, ChunkMap.Mode.UNCOMPRESSED)) {
            assertThat(m.wasReset()).isFalse();
            for (int i = 0; i < CHUNKS; i++) {
                ready[i] = m.isReady(i);
                missingBytes += ready[i] ? 0 : b.chunks.get(i).compressedSize();
            }
        }
        // a torn write: garbage in the data file where a chunk not marked ready belongs (as a write cut short
        // by the kill leaves it); it must be fetched again, never served
        int torn = -1;
        for (int i = 0; i < CHUNKS && torn < 0; i++) {
            torn = ready[i] ? -1 : i;
        }
        ChunkInfo t = b.chunks.get(torn);
        try (FileChannel ch = FileChannel.open(w.resolve(ID + ".blob.data"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[t.uncompressedSize() / 2]), t.uncompressedOffset());
        }

        TestBlob.Backend be = b.backend();
        try (BlobDevice dev = BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        w.toString())).amplifyIo(0).build()) {
            dev.addChunks(b.info, b.chunks, b.digests);
            for (int i = 0; i < CHUNKS; i++) {
                byte[] dst = new byte[b.chunks.get(i).uncompressedSize()];
                dev.readChunk(b.info, b.chunks.get(i), b.digests.get(i), dst);
                assertThat(dst).as("chunk %d (ready at kill: %s)", i, ready[i]).isEqualTo(b.plains.get(i));
            }
            assertThat(dev.allCached()).isTrue();
            // exactly the chunks that were not marked ready crossed the backend, each once
            assertThat(be.bytesServed.get()).isEqualTo(missingBytes);
            // cached ranges read straight from the file are intact too
            for (int i = 0; i < CHUNKS; i++) {
                ByteBuffer part = ByteBuffer.allocate(b.chunks.get(i).uncompressedSize());
                assertThat(dev.readCached(b.info, b.chunks.get(i), 0, part)).isTrue();
                assertThat(part.array()).isEqualTo(b.plains.get(i));
            }
        }
        System.out.printf("FetchStormKillIT: %d of %d chunks ready at SIGKILL, %d bytes refetched%n", readyAtKill,
                CHUNKS, missingBytes);
    }

    /** Ready bits in the chunk map file as another process sees it (0 while it does not exist yet). */
    private static int readyBits(Path map) throws java.io.IOException {
        if (!Files.exists(map) || Files.size(map) < 4096) {
            return 0;
        }
        byte[] all = Files.readAllBytes(map);
        int n = 0;
        for (int i = 4096; i < all.length; i++) {
            n += Integer.bitCount(all[i] & 0xFF);
        }
        return n;
    }
}
