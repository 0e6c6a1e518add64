package dev.nydus4j.backend.registry;

import org.apache.hc.core5.http.HttpEntity;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One request to send through {@link RegistryTransport}: a path on the registry (resolved against the current
 * scheme and host, so the https to http fallback can re-issue it) or an absolute URL (a redirect location).
 * The body, if any, must be repeatable because the auth flow may send it more than once. Not thread-safe; build,
 * then send.
 */
final class RegistryRequest {
    final String method;
    final String path;
    final URI absolute;
    final Map<String, String> headers = new LinkedHashMap<>();
    HttpEntity body;
    /** Send {@code Authorization} and run the 401 flow; false for redirected blob storage URLs. */
    boolean authorized = true;
    /** Blob data requests may go through the proxy or the mirrors; everything else goes direct. */
    boolean blobRoute;
    /**
     * The body is a one-shot stream ({@link #streamBody}): the request is sent once, a 401 is returned as is
     * instead of being answered and resent.
     */
    boolean oneShot;
    /** Overrides the configured {@code timeout} for waiting on the response when >= 0 (health pings). */
    int responseTimeoutSecs = -1;

    private RegistryRequest(String method, String path, URI absolute) {
        this.method = Objects.requireNonNull(method, "method is null");
        this.path = path;
        this.absolute = absolute;
    }

    /** A request for {@code path} (starting with {@code /v2/}) on the configured registry. */
    static RegistryRequest onRegistry(String method, String path) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("registry path must start with '/': " + path);
        }
        return new RegistryRequest(method, path, null);
    }

    /** A request for an absolute URL, e.g. a redirect location or an upload location. */
    static RegistryRequest absolute(String method, URI uri) {
        if (!uri.isAbsolute()) {
            throw new IllegalArgumentException("not an absolute URL: " + uri);
        }
        return new RegistryRequest(method, null, uri);
    }

    RegistryRequest header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    RegistryRequest body(HttpEntity entity) {
        if (entity != null && !entity.isRepeatable()) {
            throw new IllegalArgumentException("request bodies must be repeatable (the auth flow may resend them)");
        }
        this.body = entity;
        return this;
    }

    /**
     * A body that can be sent only once (a stream that follows a file while it is written). The auth flow does not
     * resend such a request: it must go to a URL the client already holds credentials for (an upload location).
     */
    RegistryRequest streamBody(HttpEntity entity) {
        this.body = Objects.requireNonNull(entity, "entity is null");
        this.oneShot = true;
        return this;
    }

    RegistryRequest anonymous() {
        this.authorized = false;
        return this;
    }

    RegistryRequest viaBlobRoute() {
        this.blobRoute = true;
        return this;
    }
}
