package dev.nydus4j.fuse;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.storage.device.BlobDevice;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * One RAFS image served by the daemon at a virtual mountpoint ("/" or a sub-path like "/snap-1"). Owns its
 * image and blob device; closing releases both.
 *
 * @param mountpoint virtual mountpoint inside the FUSE mount; also the instance id for metrics and config
 * @param number     1-based instance number, used to keep inode numbers of different images apart
 * @param bootstrap  bootstrap file served
 * @param config     config the instance was mounted with
 * @param image      the file system
 * @param device     its blob device (backend + cache)
 * @param mountedAt  when it was mounted
 * @param metrics    file-operation counters
 * @param prefetcher background prefetch, or null when disabled
 */
public record RafsInstance(String mountpoint, int number, Path bootstrap, NydusdConfig config, RafsImage image,
                           BlobDevice device, Instant mountedAt, FsMetrics metrics,
                           Prefetcher prefetcher) implements AutoCloseable {
    /**
     * Whether xattr requests on this image are answered: when its superblock flags xattrs or the config's
     * {@code enable_xattr} forces them; otherwise they get ENOSYS, after which the kernel stops asking for the whole
     * mount (upstream's rule: an {@code ls -l} then costs no security.selinux round trip per entry).
     */
    public boolean serveXattrs() {
        return image.xattrFlag() || config.rafs().enableXattr();
    }

    @Override
    public void close() throws IOException {
        if (prefetcher != null) {
            prefetcher.close();
        }
        image.close(); // closes the blob device too
    }
}
