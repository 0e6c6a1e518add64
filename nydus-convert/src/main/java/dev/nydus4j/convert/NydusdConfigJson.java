package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/**
 * The v1 nydusd configs nydusify mounts with (API spec 5.2): the registry backend pointed at the image's repository
 * (blobs fetched lazily), or localfs over a directory of blobs; blobcache in the work dir.
 */
final class NydusdConfigJson {
    private NydusdConfigJson() {
    }

    static String localfs(Path blobDir, Path cacheDir) {
        ObjectNode backend = Manifest.JSON.createObjectNode();
        backend.put("type", "localfs");
        backend.putObject("config").put("dir", blobDir.toAbsolutePath().toString());
        return of(backend, cacheDir);
    }

    /** Registry backend; credentials come from the docker config at mount time, never from this file. */
    static String registry(String host, String repo, boolean insecure, boolean plainHttp, Path cacheDir) {
        ObjectNode backend = Manifest.JSON.createObjectNode();
        backend.put("type", "registry");
        ObjectNode r = backend.putObject("config");
        r.put("host", host);
        r.put("repo", repo);
        r.put("scheme", plainHttp ? "http" : "https");
        r.put("skip_verify", insecure);
        // the extra CA nydusify itself trusts (SSL_CERT_FILE, nydusify.ca-cert-files) for a registry with its own CA
        var ca = r.putArray("ca_cert_files");
        RegistryStore.caCertFiles(System.getenv()).forEach(ca::add);
        r.put("timeout", 30);
        r.put("connect_timeout", 10);
        r.put("retry_limit", 2);
        return of(backend, cacheDir);
    }

    /** Any backend by type and config ({@code --backend-type oss|s3} of convert and check). */
    static String of(String type, com.fasterxml.jackson.databind.JsonNode config, Path cacheDir) {
        ObjectNode backend = Manifest.JSON.createObjectNode();
        backend.put("type", type);
        backend.set("config", config);
        return of(backend, cacheDir);
    }

    private static String of(ObjectNode backend, Path cacheDir) {
        ObjectNode c = Manifest.JSON.createObjectNode();
        ObjectNode device = c.putObject("device");
        device.set("backend", backend);
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
