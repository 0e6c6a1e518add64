package dev.nydus4j.fuse;

import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.cache.CacheRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;
import dev.nydus4j.storage.device.BlobDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Warms the data path of a daemon that starts without an image (a shared daemon waiting for API mounts): builds a
 * one-file image in a temporary directory and reads it once through the same pieces a mount uses (localfs backend,
 * blob cache, chunk digest check, decompression), then removes everything. Without it the first read after the
 * first API mount runs cold code: ~25-50 ms measured for a 7-byte file (a prefetch that shows no progress in its
 * first tens of milliseconds). It runs on a daemon thread after the daemon is up, so it never delays the start;
 * failures only log at debug level.
 */
public final class DataPathWarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(DataPathWarmUp.class);

    private DataPathWarmUp() {
    }

    /** Starts the warm-up on a daemon thread. */
    public static Thread start(BackendRegistry registry) {
        Thread t = new Thread(() -> run(registry, CacheRegistry.discover()), "nydusd-data-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
        return t;
    }

    /** Builds, reads and removes the sample image; returns the bytes read (for tests), -1 on failure. */
    static long run(BackendRegistry registry, CacheRegistry caches) {
        long t0 = System.nanoTime();
        Path dir = null;
        try {
            dir = Files.createTempDirectory("nydusd-warm-up-");
            Path src = Files.createDirectories(dir.resolve("src"));
            byte[] data = new byte[64 << 10];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 31 + (i >> 7));
            }
            Files.write(src.resolve("sample"), data);
            Path blobs = Files.createDirectories(dir.resolve("blobs"));
            Path bootstrap = dir.resolve("image.boot");
            new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR)).build(src, bootstrap, null, blobs);
            NydusdConfig config = NydusdConfigParser.parse("{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":"
                    + "{\"dir\":\"" + blobs + "\"}},\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\""
                    + dir.resolve("cache") + "\"}}},\"mode\":\"direct\"}", "data path warm-up");
            var node = new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(config.backend().config());
            BlobDevice device = BlobDevice.builder()
                    .backend((id, ctx) -> registry.open("localfs", node, "backend.localfs", id, ctx))
                    .instanceId("/warm-up").validate(true).cache(caches, config.cache())
                    .amplifyIo(config.rafs().batchSize()).build();
            long read = 0;
            try (RafsImage image = RafsImage.openDirect(bootstrap, device)) {
                Optional<InodeAttributes> a = image.resolve("/sample");
                if (a.isPresent()) {
                    ByteBuffer buf = ByteBuffer.allocate(data.length);
                    int n;
                    while (buf.hasRemaining() && (n = image.read(a.get().ino(), read, buf)) > 0) {
                        read += n;
                    }
                }
            }
            LOG.debug("data path warmed up in {} ms ({} bytes read)", (System.nanoTime() - t0) / 1_000_000, read);
            return read;
        } catch (IOException | RuntimeException e) {
            LOG.debug("data path warm-up skipped: {}", e.toString());
            return -1;
        } finally {
            if (dir != null) {
                try (Stream<Path> s = Files.walk(dir)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // a leftover temporary directory is harmless
                }
            }
        }
    }
}
