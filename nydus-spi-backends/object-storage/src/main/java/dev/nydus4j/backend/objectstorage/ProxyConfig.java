package dev.nydus4j.backend.objectstorage;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * The {@code proxy} object of every network backend (CONFIG.md 6): a Dragonfly dfdaemon or any HTTP forward proxy.
 * One type for registry, oss, s3 and dragonfly; health probing is {@link ProxyHealth}.
 *
 * @param url                        forward proxy URL, empty = no proxy
 * @param pingUrl                    health endpoint, empty = always healthy
 * @param fallback                   re-send directly on proxy transport errors or 5xx, go direct while unhealthy
 * @param checkIntervalSecs          health ping period
 * @param checkPauseElapsedSecs      no pings while the backend was idle longer than this
 * @param useHttp                    rewrite {@code https} URLs to {@code http} when sent via the proxy
 * @param dragonflySchedulerEndpoint SDK mode; not supported in Java, the HTTP proxy path is used instead
 */
public record ProxyConfig(String url, String pingUrl, boolean fallback, long checkIntervalSecs,
                          long checkPauseElapsedSecs, boolean useHttp, String dragonflySchedulerEndpoint) {

    /** No proxy; {@code fallback} defaults to true as upstream. */
    public static final ProxyConfig NONE = new ProxyConfig("", "", true, 5, 300, false, "");

    @JsonCreator
    public ProxyConfig(@JsonProperty("url") String url,
                       @JsonProperty("ping_url") String pingUrl,
                       @JsonProperty("fallback") Boolean fallback,
                       @JsonProperty("check_interval") Long checkIntervalSecs,
                       @JsonProperty("check_pause_elapsed") Long checkPauseElapsedSecs,
                       @JsonProperty("use_http") Boolean useHttp,
                       @JsonProperty("dragonfly_scheduler_endpoint") String dragonflySchedulerEndpoint) {
        this(url, pingUrl, fallback == null || fallback, checkIntervalSecs == null ? 5 : checkIntervalSecs,
                checkPauseElapsedSecs == null ? 300 : checkPauseElapsedSecs, useHttp != null && useHttp,
                dragonflySchedulerEndpoint);
    }

    public ProxyConfig {
        url = url == null ? "" : url.trim();
        pingUrl = pingUrl == null ? "" : pingUrl.trim();
        dragonflySchedulerEndpoint = dragonflySchedulerEndpoint == null ? "" : dragonflySchedulerEndpoint;
        if (checkIntervalSecs < 0 || checkPauseElapsedSecs < 0) {
            throw new IllegalArgumentException("proxy.check_interval and proxy.check_pause_elapsed must be >= 0, got "
                    + checkIntervalSecs + " and " + checkPauseElapsedSecs);
        }
        requireAbsolute("proxy.url", url);
        requireAbsolute("proxy.ping_url", pingUrl);
    }

    /**
     * Headers of on-demand reads sent via the proxy (BACKENDS.md 8.2): priority 6 and P2P forced; prefetch reads
     * (priority 3) are not distinguished by the backend SPI.
     */
    public static final java.util.Map<String, String> DRAGONFLY_HEADERS = java.util.Map.of(
            "X-Dragonfly-Priority", "6",
            "X-Dragonfly-Use-P2P", "true");

    /** Response header dfdaemon sets on errors it generated itself (value {@code proxy}). */
    public static final String DRAGONFLY_ERROR_TYPE = "X-Dragonfly-Error-Type";

    /** Whether requests go through a proxy at all. */
    public boolean enabled() {
        return !url.isEmpty();
    }

    /** Checks that a non-empty {@code value} is an absolute URL with a host; the message names {@code key}. */
    public static void requireAbsolute(String key, String value) {
        if (value.isEmpty()) {
            return;
        }
        try {
            URI uri = new URI(value);
            if (!uri.isAbsolute() || uri.getHost() == null) {
                throw new IllegalArgumentException(key + " must be an absolute URL such as http://127.0.0.1:4001, got '"
                        + value + "'");
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(key + " is not a valid URL: '" + value + "' (" + e.getReason() + ")", e);
        }
    }
}
