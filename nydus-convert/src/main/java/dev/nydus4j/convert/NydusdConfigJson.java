package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/** The v1 nydusd config the checker mounts with (API spec 5.2): localfs over the checked blobs, blobcache. */
final class NydusdConfigJson {
    private NydusdConfigJson() {
    }

    static String localfs(Path blobDir, Path cacheDir) {
        ObjectNode c = Manifest.JSON.createObjectNode();
        ObjectNode device = c.putObject("device");
        ObjectNode backend = device.putObject("backend");
        backend.put("type", "localfs");
        backend.putObject("config").put("dir", blobDir.toAbsolutePath().toString());
        ObjectNode cache = device.putObject("cache");
        cache.put("type", "blobcache");
        cache.putObject("config").put("work_dir", cacheDir.toAbsolutePath().toString());
        c.put("mode", "direct");
        c.put("digest_validate", false);
        c.put("iostats_files", false);
        c.put("enable_xattr", true);
        ObjectNode prefetch = c.putObject("fs_prefetch");
        prefetch.put("enable", false);
        prefetch.put("threads_count", 10);
        prefetch.put("merging_size", 131072);
        return new String(Manifest.toBytes(c), java.nio.charset.StandardCharsets.UTF_8);
    }
}
