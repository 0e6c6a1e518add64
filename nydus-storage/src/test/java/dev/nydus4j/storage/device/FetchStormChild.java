package dev.nydus4j.storage.device;

import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.storage.cache.CacheRegistry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Child JVM of {@link FetchStormKillIT}: reads every chunk of a {@link TestBlob} through a {@link BlobDevice} with a
 * blobcache in {@code args[0]} from a slow in-memory backend, with many threads, until it is killed.
 * Args: work_dir, chunk count, seed, threads, backend delay ms.
 */
public final class FetchStormChild {
    private FetchStormChild() {
    }

    public static void main(String[] args) throws Exception {
        Path workDir = Path.of(args[0]);
        TestBlob b = new TestBlob(FetchStormKillIT.ID, Integer.parseInt(args[1]), FetchStormKillIT.MIN,
                FetchStormKillIT.MAX, Long.parseLong(args[2]));
        int threads = Integer.parseInt(args[3]);
        TestBlob.Backend be = b.backend();
        be.delayMillis = Long.parseLong(args[4]);
        BlobDevice dev = BlobDevice.builder().backend(id -> be)
                .cache(CacheRegistry.builtIn(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        workDir.toString()))
                .amplifyIo(0).build();
        dev.addChunks(b.info, b.chunks, b.digests);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        for (int t = 0; t < threads; t++) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < b.chunks.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(t));
            pool.submit(() -> {
                byte[] dst = new byte[FetchStormKillIT.MAX];
                for (int i : order) {
                    dev.readChunk(b.info, b.chunks.get(i), b.digests.get(i), dst);
                }
                return null;
            });
        }
        System.out.println("STORM STARTED");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE); // the parent kills us
    }
}
