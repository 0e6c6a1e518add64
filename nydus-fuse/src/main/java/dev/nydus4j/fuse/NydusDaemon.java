package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.api.config.BackendConfig;
import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.device.BlobDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One served image: config → backend → blob device (with the configured blob cache) → {@link RafsImage} →
 * FUSE mount. Closing unmounts and releases everything, in reverse order.
 */
public final class NydusDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NydusDaemon.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final NydusdConfig config;
    private final BlobDevice device;
    private final RafsImage image;
    private final RafsFuse fuse;
    private final FuseMount mount;

    private NydusDaemon(NydusdConfig config, BlobDevice device, RafsImage image, RafsFuse fuse, FuseMount mount) {
        this.config = config;
        this.device = device;
        this.image = image;
        this.fuse = fuse;
        this.mount = mount;
    }

    /**
     * Opens the image and mounts it.
     *
     * @param config     parsed nydusd config (backend required)
     * @param bootstrap  RAFS bootstrap file
     * @param mountpoint directory to mount on
     * @param registry   backend providers
     */
    public static NydusDaemon start(NydusdConfig config, Path bootstrap, Path mountpoint, BackendRegistry registry)
            throws IOException {
        Objects.requireNonNull(config, "config is null");
        BackendConfig backend = config.backend();
        if (backend == null) {
            throw new IllegalArgumentException("the nydusd config has no backend; add device.backend (v1) or"
                    + " [backend] (v2), or use --localfs-dir / -D");
        }
        String path = "backend." + backend.type();
        JsonNode node = JSON.valueToTree(backend.config());
        Object bound = registry.bindConfig(backend.type(), node, path);
        BackendContext ctx = BackendContext.simple(config.id().isEmpty() ? "/" : config.id());
        Path workDir = config.cache().isBlobCache() ? Path.of(config.cache().workDir()) : null;
        BlobDevice device = new BlobDevice(id -> registry.open(backend.type(), bound, id, ctx), workDir,
                config.cache().validate());
        RafsImage image = RafsImage.open(bootstrap, device); // closes the device on failure
        try {
            RafsFuse fuse = new RafsFuse(image, true);
            FuseMount mount = FuseMount.mount(fuse, mountpoint, List.of());
            LOG.info("serving {} at {} (backend {}, cache {})", bootstrap, mount.mountpoint(), backend.type(),
                    workDir == null ? "none" : workDir);
            return new NydusDaemon(config, device, image, fuse, mount);
        } catch (IOException | RuntimeException e) {
            image.close();
            throw e;
        }
    }

    public NydusdConfig config() {
        return config;
    }

    public FuseMount mount() {
        return mount;
    }

    public RafsImage image() {
        return image;
    }

    /** Backend and cache figures, shaped like upstream's metrics. */
    public Map<String, Object> metrics() {
        return Map.of("read_count", device.backendReadCount(), "read_amount_total", device.backendReadBytes(),
                "cache_hits", device.cacheHits(), "cache_misses", device.cacheMisses(),
                "fuse_bytes_read", fuse.bytesRead(), "fuse_read_errors", fuse.readErrors());
    }

    @Override
    public void close() throws IOException {
        try (RafsImage i = image; FuseMount m = mount) {
            // unmount first (declared last), then the image and its blob device
        }
    }
}
