package dev.nydus4j.backend.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Authorization state of one registry connection (BACKENDS.md 2.3, 2.4): the cached header, the configured
 * Basic credentials, the last Bearer challenge and the token refresh schedule. Thread-safe.
 */
final class RegistryAuth {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryAuth.class);
    /** Token responses are small JSON objects; a registry answering more is misbehaving. */
    private static final int TOKEN_BODY_LIMIT = 1 << 20;
    private static final long DEFAULT_TTL_SECS = 600;
    private static final long MIN_REFRESH_RETRY_SECS = 5;
    /** Upstream's refresh task wakes every 5 s, so short-lived tokens are refreshed at most that often. */
    private static final long MIN_REFRESH_DELAY_SECS = 5;
    private static final long MAX_REFRESH_RETRY_SECS = 600;

    /** Sends a token request directly (never via proxy or mirrors, never with the 401 flow). */
    interface TokenSender {
        RegistryResponse send(RegistryRequest request) throws IOException;
    }

    private final String configAuth;
    private final TokenSender sender;
    private final ScheduledExecutorService background;
    private final ObjectMapper json = new ObjectMapper();
    /** Realms where the POST form failed once and GET worked: use GET first from then on. */
    private final Map<String, Boolean> getFirst = new ConcurrentHashMap<>();
    private volatile String cachedHeader;
    private volatile AuthChallenge lastBearer;
    private ScheduledFuture<?> refresh; // guarded by this
    private volatile boolean closed;

    RegistryAuth(String configAuth, String registryToken, TokenSender sender, ScheduledExecutorService background) {
        this.configAuth = configAuth == null ? "" : configAuth;
        this.sender = sender;
        this.background = background;
        this.cachedHeader = registryToken == null || registryToken.isEmpty() ? null : "Bearer " + registryToken;
    }

    /** Header value to send first, or null for anonymous. */
    String cachedHeader() {
        return cachedHeader;
    }

    void cache(String header) {
        cachedHeader = header;
    }

    boolean hasCredentials() {
        return !configAuth.isEmpty();
    }

    /**
     * Answers a 401 challenge: {@code Basic <auth>} when credentials are configured, a fresh token for Bearer.
     *
     * @return empty when the challenge cannot be answered (no credentials for Basic, unknown scheme); the 401
     *         then goes back to the caller
     */
    Optional<String> respond(String wwwAuthenticate) throws IOException {
        Optional<AuthChallenge> parsed = AuthChallenge.parse(wwwAuthenticate);
        if (parsed.isEmpty()) {
            return Optional.empty();
        }
        AuthChallenge ch = parsed.get();
        if (ch.isBasic()) {
            // upstream sends "Basic " without credentials; a plain 401 tells the operator more
            return configAuth.isEmpty() ? Optional.empty() : Optional.of("Basic " + configAuth);
        }
        if (ch.isBearer() && !ch.param("realm").isEmpty() && !ch.param("service").isEmpty()) {
            return Optional.of("Bearer " + fetchToken(ch));
        }
        LOG.debug("cannot answer auth challenge with scheme '{}'", ch.scheme());
        return Optional.empty();
    }

    /** Obtains a token for the challenge (POST form, then GET), remembers it for refresh, schedules refresh. */
    String fetchToken(AuthChallenge ch) throws IOException {
        String realm = ch.param("realm");
        String form = "service=" + enc(ch.param("service")) + "&scope=" + enc(ch.param("scope"))
                + "&client_id=nydus-registry-client";
        Token token;
        if (getFirst.containsKey(realm)) {
            token = tokenByGet(realm, form);
        } else {
            try {
                token = tokenByPost(realm, form);
            } catch (IOException postFailure) {
                LOG.debug("token POST to {} failed ({}); trying GET", realm, postFailure.getMessage());
                try {
                    token = tokenByGet(realm, form);
                } catch (IOException getFailure) {
                    getFailure.addSuppressed(postFailure);
                    throw getFailure;
                }
                getFirst.put(realm, Boolean.TRUE);
            }
        }
        lastBearer = ch;
        scheduleRefresh(token.ttlSecs);
        return token.value;
    }

    private Token tokenByPost(String realm, String form) throws IOException {
        RegistryRequest req = RegistryRequest.absolute("POST", uri(realm, null))
                .body(new StringEntity(form, ContentType.APPLICATION_FORM_URLENCODED));
        return exchange(req, realm);
    }

    private Token tokenByGet(String realm, String form) throws IOException {
        return exchange(RegistryRequest.absolute("GET", uri(realm, form)), realm);
    }

    private Token exchange(RegistryRequest req, String realm) throws IOException {
        if (!configAuth.isEmpty()) {
            req.header("Authorization", "Basic " + configAuth);
        }
        try (RegistryResponse r = sender.send(req)) {
            if (r.status() >= 400) {
                throw new RegistryStatusException("token request " + req.method + " " + realm + " failed with HTTP "
                        + r.status() + (configAuth.isEmpty() ? " (anonymous)" : " (with configured credentials)")
                        + r.errorText(), r.status());
            }
            JsonNode node = json.readTree(r.readBody(TOKEN_BODY_LIMIT));
            String value = node.path("token").asText("");
            if (value.isEmpty()) {
                value = node.path("access_token").asText("");
            }
            if (value.isEmpty()) {
                throw new IOException("token response of " + realm + " has neither 'token' nor 'access_token'");
            }
            long ttl = node.path("expires_in").asLong(DEFAULT_TTL_SECS);
            return new Token(value, ttl > 0 ? ttl : DEFAULT_TTL_SECS);
        }
    }

    private synchronized void scheduleRefresh(long ttlSecs) {
        if (closed) {
            return;
        }
        if (refresh != null) {
            refresh.cancel(false);
        }
        // refresh before expiry, spread so that many nydusd instances do not hit the realm together
        long jitter = ThreadLocalRandom.current().nextLong(Math.min(ttlSecs / 10, 300) + 1);
        long delay = Math.max(MIN_REFRESH_DELAY_SECS, ttlSecs - 20 - jitter);
        refresh = background.schedule(() -> refreshNow(MIN_REFRESH_RETRY_SECS), delay, TimeUnit.SECONDS);
    }

    private void refreshNow(long retrySecs) {
        AuthChallenge ch = lastBearer;
        if (ch == null || closed) {
            return;
        }
        try {
            cachedHeader = "Bearer " + fetchToken(ch);
            LOG.debug("refreshed registry token from {}", ch.param("realm"));
        } catch (IOException | RuntimeException e) {
            LOG.warn("registry token refresh from {} failed, retrying in {} s: {}", ch.param("realm"), retrySecs,
                    e.getMessage());
            synchronized (this) {
                if (!closed) {
                    long next = Math.min(retrySecs * 2, MAX_REFRESH_RETRY_SECS);
                    refresh = background.schedule(() -> refreshNow(next), retrySecs, TimeUnit.SECONDS);
                }
            }
        }
    }

    synchronized void close() {
        closed = true;
        if (refresh != null) {
            refresh.cancel(false);
        }
    }

    private static URI uri(String realm, String query) throws IOException {
        try {
            URI base = new URI(realm);
            if (!base.isAbsolute()) {
                throw new IOException("token realm '" + realm + "' is not an absolute URL");
            }
            if (query == null) {
                return base;
            }
            String sep = base.getRawQuery() == null ? "?" : "&";
            return new URI(realm + sep + query);
        } catch (URISyntaxException e) {
            throw new IOException("token realm '" + realm + "' is not a valid URL: " + e.getReason(), e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private record Token(String value, long ttlSecs) {
    }
}
