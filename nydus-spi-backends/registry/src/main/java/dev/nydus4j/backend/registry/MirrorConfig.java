package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Map;

/**
 * One entry of the legacy {@code mirrors} array (CONFIG.md 6.1, BACKENDS.md 8.4; removed upstream in v2.3.5 but
 * still in the Dragonfly documentation). Blob requests try healthy mirrors first, then the origin.
 *
 * @param host                         mirror base URL, e.g. {@code http://127.0.0.1:4001}
 * @param pingUrl                      health endpoint; defaults to {@code <host>/v2}
 * @param headers                      headers added to requests sent to this mirror
 * @param healthCheckIntervalSecs      period of recovery pings while unhealthy
 * @param failureLimit                 transport failures that mark the mirror unhealthy
 * @param healthCheckPauseElapsedSecs  no pings while the backend was idle longer than this
 * @param authThrough                  legacy key, accepted and ignored
 */
public record MirrorConfig(String host, String pingUrl, Map<String, String> headers, long healthCheckIntervalSecs,
                           int failureLimit, long healthCheckPauseElapsedSecs, boolean authThrough) {

    @JsonCreator
    public MirrorConfig(@JsonProperty("host") String host,
                        @JsonProperty("ping_url") String pingUrl,
                        @JsonProperty("headers") Map<String, String> headers,
                        @JsonProperty("health_check_interval") Long healthCheckIntervalSecs,
                        @JsonProperty("failure_limit") Integer failureLimit,
                        @JsonProperty("health_check_pause_elapsed") Long healthCheckPauseElapsedSecs,
                        @JsonProperty("auth_through") Boolean authThrough) {
        this(host, pingUrl, headers, healthCheckIntervalSecs == null ? 5 : healthCheckIntervalSecs,
                failureLimit == null ? 5 : failureLimit,
                healthCheckPauseElapsedSecs == null ? 300 : healthCheckPauseElapsedSecs,
                authThrough != null && authThrough);
    }

    public MirrorConfig {
        host = host == null ? "" : host.trim();
        if (host.endsWith("/")) {
            host = host.substring(0, host.length() - 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("mirrors[].host is required, e.g. http://127.0.0.1:4001");
        }
        ProxyConfig.requireAbsolute("mirrors[].host", host);
        pingUrl = pingUrl == null || pingUrl.isBlank() ? host + "/v2" : pingUrl.trim();
        ProxyConfig.requireAbsolute("mirrors[].ping_url", pingUrl);
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        if (failureLimit < 1 || healthCheckIntervalSecs < 0 || healthCheckPauseElapsedSecs < 0) {
            throw new IllegalArgumentException("mirrors[] for " + host + ": failure_limit must be >= 1 and intervals"
                    + " >= 0, got failure_limit " + failureLimit);
        }
    }
}
