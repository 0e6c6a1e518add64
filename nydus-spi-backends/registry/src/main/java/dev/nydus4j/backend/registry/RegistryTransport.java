package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ObjectHttp;
import dev.nydus4j.backend.objectstorage.TlsContexts;

import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.util.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * HTTP to one registry host, shared by the blob backend and {@link RegistryClient}: TLS ({@code skip_verify},
 * {@code ca_cert_files}), timeouts, default headers, the 401 auth flow (BACKENDS.md 2.3), first-request
 * serialisation, the https to http fallback (2.6), and routing of blob requests via proxy or mirrors. Redirects
 * are never followed here. Thread-safe; owns its HTTP clients and one daemon thread, released by {@link #close()}.
 */
final class RegistryTransport implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryTransport.class);
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();

    private final RegistryConfig config;
    private final Map<String, String> envHeaders;
    private final CloseableHttpClient direct;
    private final CloseableHttpClient viaProxy;
    private final ScheduledThreadPoolExecutor background;
    private final RegistryAuth auth;
    private final ProxyRoute proxy;
    private final MirrorRoute mirrors;
    private final ReentrantLock firstRequest = new ReentrantLock(true);
    private volatile boolean warmedUp;
    private volatile String scheme;
    private volatile long lastActivityNanos = System.nanoTime();
    private volatile boolean closed;

    private final boolean plainHttpFallback;

    /**
     * @param config effective config: host set, {@code auth} already resolved (config, docker config)
     * @param env    environment for {@code NYDUS_HEADER_*}
     */
    RegistryTransport(RegistryConfig config, Map<String, String> env) throws IOException {
        this(config, env, false);
    }

    /**
     * @param plainHttpFallback also switch to http without {@code skip_verify} when the server answers TLS with
     *                          plain http or refuses the connection (nydusify's rule; nydusd's needs skip_verify)
     */
    RegistryTransport(RegistryConfig config, Map<String, String> env, boolean plainHttpFallback) throws IOException {
        this.plainHttpFallback = plainHttpFallback;
        if (config.host().isEmpty()) {
            throw new IllegalArgumentException("registry host is empty");
        }
        this.config = config;
        this.envHeaders = ObjectHttp.envHeaders(env);
        this.scheme = config.plainHttp() ? "http" : "https";
        TlsSocketStrategy tls = TlsContexts.strategy("registry", config.skipVerify(), config.caCertFiles());
        background = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "nydus-registry-" + config.host() + "-" + THREAD_IDS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        background.setRemoveOnCancelPolicy(true);
        background.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        CloseableHttpClient proxyClient = null;
        try {
            direct = client(tls, null);
            if (config.proxy().enabled()) {
                proxyClient = client(tls, HttpHost.create(config.proxy().url()));
            }
        } catch (URISyntaxException | RuntimeException e) {
            background.shutdownNow();
            throw new IllegalArgumentException("invalid proxy.url '" + config.proxy().url() + "'", e);
        }
        viaProxy = proxyClient;
        auth = new RegistryAuth(config.auth(), config.registryToken(),
                req -> execute(direct, req.absolute, req, null, Map.of()), background);
        ProxyRoute proxyRoute = null;
        MirrorRoute mirrorRoute = null;
        try {
            // health: a proxy must answer 200..399 (BACKENDS.md 8.1), a mirror anything below 500 (8.4)
            if (proxyClient != null) {
                proxyRoute = new ProxyRoute(config.proxy(), background, u -> ping(u, 400), () -> lastActivityNanos);
            } else if (!config.mirrors().isEmpty()) {
                mirrorRoute = new MirrorRoute(config.mirrors(), background, u -> ping(u, 500), () -> lastActivityNanos);
            }
        } catch (RuntimeException e) {
            background.shutdownNow();
            direct.close();
            if (proxyClient != null) {
                proxyClient.close();
            }
            throw e;
        }
        proxy = proxyRoute;
        mirrors = mirrorRoute;
        if (proxy != null && !config.mirrors().isEmpty()) {
            LOG.warn("registry {}: both proxy and mirrors are configured; mirrors are ignored", config.host());
        }
        if (!config.proxy().dragonflySchedulerEndpoint().isEmpty()) {
            LOG.warn("proxy.dragonfly_scheduler_endpoint is not supported in Java; using the HTTP proxy path");
        }
    }

    private CloseableHttpClient client(TlsSocketStrategy tls, HttpHost proxyHost) {
        return ObjectHttp.httpClient(tls, config.timeoutSecs(), config.connectTimeoutSecs(), proxyHost, false);
    }

    RegistryConfig config() {
        return config;
    }

    String host() {
        return config.host();
    }

    /** Current scheme: https, or http after the fallback. */
    String scheme() {
        return scheme;
    }

    URI registryUri(String path) {
        return URI.create(scheme + "://" + config.host() + path);
    }

    boolean hasCredentials() {
        return auth.hasCredentials();
    }

    /**
     * Sends a request with the auth flow; the caller closes the response. Non-2xx statuses are returned, not
     * thrown; transport failures throw.
     */
    RegistryResponse send(RegistryRequest req) throws IOException {
        if (closed) {
            throw new IOException("registry connection to " + config.host() + " is closed");
        }
        lastActivityNanos = System.nanoTime();
        if (!warmedUp) {
            // the first request runs alone so that concurrent readers share one token fetch
            firstRequest.lock();
            try {
                if (!warmedUp) {
                    RegistryResponse r = sendWithSchemeFallback(req);
                    if (r.status() != 401) {
                        warmedUp = true;
                    }
                    return r;
                }
            } finally {
                firstRequest.unlock();
            }
        }
        return sendWithSchemeFallback(req);
    }

    private RegistryResponse sendWithSchemeFallback(RegistryRequest req) throws IOException {
        String before = scheme;
        try {
            return sendAuthorized(req);
        } catch (IOException e) {
            boolean fallback = config.skipVerify() ? isPlainHttpSignal(e) : plainHttpFallback && isPlainHttpServer(e);
            if (req.path != null && "https".equals(before) && fallback) {
                if ("https".equals(scheme)) {
                    LOG.warn("registry {}: TLS failed ({}); switching to plain http for this backend", config.host(),
                            e.getMessage());
                    scheme = "http";
                }
                return sendAuthorized(req);
            }
            if (hasCause(e, SSLHandshakeException.class) && !config.skipVerify()) {
                throw new SSLHandshakeExceptionWithHint(config.host(), e);
            }
            throw e;
        }
    }

    private RegistryResponse sendAuthorized(RegistryRequest req) throws IOException {
        String cached = req.authorized ? auth.cachedHeader() : null;
        RegistryResponse r = exchange(req, cached);
        if (r.status() != 401 || !req.authorized || req.oneShot) {
            return r;
        }
        if (cached != null) {
            // an expired token may draw a misleading challenge (Harbor): ask anonymously for the real one
            r.close();
            r = exchange(req, null);
            if (r.status() != 401) {
                return r;
            }
        }
        Optional<String> header = auth.respond(r.header("WWW-Authenticate"));
        if (header.isEmpty()) {
            return r;
        }
        r.close();
        RegistryResponse retried = exchange(req, header.get());
        if (retried.status() < 400) {
            auth.cache(header.get());
        }
        return retried;
    }

    private RegistryResponse exchange(RegistryRequest req, String authorization) throws IOException {
        URI uri = req.absolute != null ? req.absolute : registryUri(req.path);
        Hop hop = (u, useProxy, extra) -> execute(useProxy ? viaProxy : direct, u, req, authorization, extra);
        if (req.blobRoute && proxy != null) {
            return proxy.send(uri, hop);
        }
        if (req.blobRoute && mirrors != null) {
            return mirrors.send(uri, hop);
        }
        return hop.send(uri, false, Map.of());
    }

    private RegistryResponse execute(CloseableHttpClient client, URI uri, RegistryRequest req, String authorization,
                                     Map<String, String> extra) throws IOException {
        HttpUriRequestBase r = new HttpUriRequestBase(req.method, uri);
        envHeaders.forEach(r::setHeader);
        req.headers.forEach(r::setHeader);
        extra.forEach(r::setHeader);
        if (authorization != null) {
            r.setHeader("Authorization", authorization);
        }
        if (req.body != null) {
            r.setEntity(req.body);
        }
        if (req.responseTimeoutSecs >= 0) {
            r.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(req.responseTimeoutSecs)).build());
        }
        long deadline = config.timeoutSecs() == 0 ? 0
                : (System.nanoTime() + TimeUnit.SECONDS.toNanos(config.timeoutSecs())) | 1;
        LOG.debug("{} {}", req.method, uri);
        ClassicHttpResponse resp = client.executeOpen(null, r, HttpClientContext.create());
        return new RegistryResponse(resp, r, uri, deadline, config.timeoutSecs());
    }

    /** Health probe of a proxy or mirror: direct GET with timeout {@code connect_timeout}. */
    private boolean ping(URI uri, int healthyBelow) {
        RegistryRequest req = RegistryRequest.absolute("GET", uri).anonymous();
        req.responseTimeoutSecs = config.connectTimeoutSecs();
        try (RegistryResponse r = execute(direct, uri, req, null, Map.of())) {
            return r.status() < healthyBelow;
        } catch (IOException | RuntimeException e) {
            LOG.debug("ping {} failed: {}", uri, e.getMessage());
            return false;
        }
    }

    /**
     * The URL to follow for a 3xx answer: {@code Location} resolved against the request URL, then
     * {@code blob_url_scheme} and {@code blob_redirected_host} applied (BACKENDS.md 2.5).
     */
    URI redirectTarget(URI requestUri, String location) throws IOException {
        if (location == null || location.isBlank()) {
            throw new IOException("redirect from " + requestUri.getHost() + " without a Location header");
        }
        URI target;
        try {
            target = requestUri.resolve(new URI(location.trim()));
        } catch (URISyntaxException e) {
            throw new IOException("redirect from " + requestUri.getHost() + " to an invalid Location: "
                    + e.getReason(), e);
        }
        String s = config.blobUrlScheme().isEmpty() ? target.getScheme() : config.blobUrlScheme();
        String authority = target.getRawAuthority();
        String newHost = config.blobRedirectedHost();
        if (!newHost.isEmpty()) {
            authority = newHost.contains(":") || target.getPort() < 0 ? newHost : newHost + ":" + target.getPort();
        }
        String rest = target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
        return URI.create(s + "://" + authority + rest);
    }

    /**
     * The server speaks plain http on the port (the JDK's "Unsupported or unrecognized SSL message", formerly
     * "Unrecognized SSL message, plaintext connection?") or
     * refuses the connection: upstream nydusify's {@code RetryWithHTTP} cases. Certificate errors never qualify.
     */
    private static boolean isPlainHttpServer(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
            if (t instanceof ConnectException || (t instanceof SSLException
                    && (m.contains("plaintext connection") || m.contains("unrecognized ssl message")))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isPlainHttpSignal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLException || t instanceof ConnectException) {
                return true;
            }
            String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
            if (m.contains("wrong version number") || m.contains("connection refused") || m.contains("ssl")) {
                return true;
            }
        }
        return false;
    }

    static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        auth.close();
        if (proxy != null) {
            proxy.close();
        }
        if (mirrors != null) {
            mirrors.close();
        }
        background.shutdownNow();
        try {
            direct.close();
        } finally {
            if (viaProxy != null) {
                viaProxy.close();
            }
        }
    }

    /** A certificate check failed and {@code skip_verify} is off: say which keys fix it. */
    static final class SSLHandshakeExceptionWithHint extends SSLHandshakeException {
        SSLHandshakeExceptionWithHint(String host, IOException cause) {
            super("TLS handshake with registry " + host + " failed (" + cause.getMessage() + "); if the registry uses"
                    + " a private CA add it to ca_cert_files, or set skip_verify");
            initCause(cause);
        }
    }
}
