package dev.nydus4j.backend.dragonfly;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.nydus4j.backend.objectstorage.ProxyConfig;
import dev.nydus4j.backend.registry.RegistryConfig;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;

/**
 * {@code dragonfly} backend keys: the dfdaemon HTTP proxy (BACKENDS.md 8) and exactly one origin the blobs are
 * fetched from when dfdaemon asks (and when falling back): a registry, or a plain HTTP blob URL template.
 *
 * <pre>
 * {"type": "dragonfly", "config": {
 *    "proxy": {"url": "http://127.0.0.1:4001", "ping_url": "http://127.0.0.1:4003/healthy",
 *              "check_interval": 5, "fallback": true},
 *    "registry": {"host": "registry.example", "repo": "library/app", "auth": "...", "timeout": 5, "retry_limit": 2}
 * }}
 * {"type": "dragonfly", "config": {
 *    "proxy": {"url": "http://127.0.0.1:4001"},
 *    "blob_url": "http://blobs.example:8080/nydus/{blob_id}", "timeout": 5, "retry_limit": 2
 * }}
 * </pre>
 *
 * <p>{@code registry} takes every key of the {@code registry} backend (CONFIG.md 5) except {@code proxy} and
 * {@code mirrors}; its {@code host}/{@code repo} may be left empty for the snapshotter to fill in per image
 * ({@link #withImage}). With {@code blob_url} the HTTP keys {@code auth}, {@code skip_verify},
 * {@code ca_cert_files}, {@code timeout}, {@code connect_timeout} and {@code retry_limit} sit next to it (same
 * meaning and defaults as for the registry backend); with {@code registry} they belong inside that object.
 * {@link #toString()} never shows secrets.
 *
 * @param proxy    dfdaemon's proxy; {@code url} is required
 * @param registry the origin registry, or null
 * @param blobUrl  the origin blob URL with {@code {blob_id}} standing for the 64-hex blob id, or empty
 * @param http     the transport keys for {@code blob_url} (host, repo and proxy unused), or null with registry
 */
public record DragonflyConfig(ProxyConfig proxy, RegistryConfig registry, String blobUrl, RegistryConfig http) {
    /** The placeholder of {@code blob_url}. */
    public static final String BLOB_ID = "{blob_id}";

    @JsonCreator
    public static DragonflyConfig bind(@JsonProperty("proxy") ProxyConfig proxy,
                                       @JsonProperty("registry") RegistryConfig registry,
                                       @JsonProperty("blob_url") String blobUrl,
                                       @JsonProperty("auth") String auth,
                                       @JsonProperty("skip_verify") Boolean skipVerify,
                                       @JsonProperty("ca_cert_files") List<String> caCertFiles,
                                       @JsonProperty("timeout") Integer timeoutSecs,
                                       @JsonProperty("connect_timeout") Integer connectTimeoutSecs,
                                       @JsonProperty("retry_limit") Integer retryLimit) {
        boolean httpKeys = auth != null || skipVerify != null || caCertFiles != null || timeoutSecs != null
                || connectTimeoutSecs != null || retryLimit != null;
        if (registry != null && httpKeys) {
            throw new IllegalArgumentException("dragonfly: auth, skip_verify, ca_cert_files, timeout, connect_timeout"
                    + " and retry_limit apply to 'blob_url'; with 'registry' set them inside the registry object");
        }
        RegistryConfig http = registry != null ? null
                : new RegistryConfig("", "", "", auth, "", "", "", skipVerify, caCertFiles, timeoutSecs,
                        connectTimeoutSecs, retryLimit, null, null, null, null);
        return new DragonflyConfig(proxy, registry, blobUrl, http);
    }

    public DragonflyConfig {
        blobUrl = blobUrl == null ? "" : blobUrl.trim();
        if (proxy == null || !proxy.enabled()) {
            throw new IllegalArgumentException("dragonfly: 'proxy.url' is required (dfdaemon's HTTP proxy, e.g."
                    + " http://127.0.0.1:4001); use the registry backend to read without a proxy");
        }
        if ((registry == null) == blobUrl.isEmpty()) {
            throw new IllegalArgumentException("dragonfly: set exactly one origin, 'registry' (a registry host and repo"
                    + " with its auth settings) or 'blob_url' (a URL template containing " + BLOB_ID + ")");
        }
        if (registry != null) {
            if (registry.proxy().enabled() || !registry.proxy().pingUrl().isEmpty()) {
                throw new IllegalArgumentException("dragonfly: 'registry.proxy' is not allowed; the proxy is the"
                        + " top-level 'proxy' of the dragonfly config");
            }
            if (!registry.mirrors().isEmpty()) {
                throw new IllegalArgumentException("dragonfly: 'registry.mirrors' is not allowed; with Dragonfly the"
                        + " blobs go through 'proxy'");
            }
        } else {
            origin(blobUrl, "0".repeat(64));
            if (http == null) {
                http = RegistryConfig.of("", "");
            }
        }
    }

    /** This config with the registry origin's host and repo replaced (what the snapshotter supplies per image). */
    public DragonflyConfig withImage(String host, String repo) {
        if (registry == null) {
            throw new IllegalStateException("dragonfly: the origin is blob_url, not a registry");
        }
        return new DragonflyConfig(proxy, registry.withImage(host, repo), blobUrl, http);
    }

    /** The origin URL of one blob with {@code blob_url}; checks scheme and host. */
    static URI origin(String template, String blobId) {
        if (!template.contains(BLOB_ID)) {
            throw new IllegalArgumentException("dragonfly: 'blob_url' must contain " + BLOB_ID + ", got '" + template
                    + "'");
        }
        URI uri;
        try {
            uri = new URI(template.replace(BLOB_ID, blobId));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("dragonfly: 'blob_url' is not a valid URL: '" + template + "' ("
                    + e.getReason() + ")", e);
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || uri.getRawPath() == null || !uri.getRawPath().startsWith("/")) {
            throw new IllegalArgumentException("dragonfly: 'blob_url' must be an http:// or https:// URL with a host"
                    + " and a path, got '" + template + "'");
        }
        if (uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            // user info may be a password: never echo the URL
            throw new IllegalArgumentException("dragonfly: 'blob_url' must not carry a fragment or user info (use"
                    + " 'auth')");
        }
        return uri;
    }

    @Override
    public String toString() {
        return "DragonflyConfig[proxy=" + proxy + (registry != null ? ", registry=" + registry
                : ", blob_url=" + blobUrl + ", http=" + http) + "]";
    }
}
