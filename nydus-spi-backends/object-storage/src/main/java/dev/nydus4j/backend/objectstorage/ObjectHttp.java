package dev.nydus4j.backend.objectstorage;

import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.SystemDefaultDnsResolver;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.regex.Pattern;

/**
 * HTTP client of an object-store backend (BACKENDS.md 1): one pooled client per backend (plus one through
 * {@code proxy.url}), timeouts, TLS {@code skip_verify} / {@code ca_cert_files}, no automatic redirects, retries or
 * decompression, {@code User-Agent: nydusd/1.0.0} and the {@code NYDUS_HEADER_*} headers added after signing;
 * {@code proxy.ping_url} probed by {@link ProxyHealth} on one daemon thread (stopped by the last close). Thread-safe.
 */
public final class ObjectHttp implements Closeable {
    public static final String USER_AGENT = "nydusd/1.0.0";
    private static final String ENV_HEADER_PREFIX = "NYDUS_HEADER_";
    private static final java.util.concurrent.atomic.AtomicInteger THREAD_IDS =
            new java.util.concurrent.atomic.AtomicInteger();
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    /** Handles one response; the status has not been checked. */
    interface ResponseHandler<T> {
        T handle(ClassicHttpResponse response) throws IOException;
    }

    /**
     * The system resolver, except that {@code localhost} and every {@code *.localhost} name is the loopback address
     * (RFC 6761 6.3), as curl and browsers do: virtual-hosted buckets ({@code bucket.localhost:9000}) of a local
     * server work without editing {@code /etc/hosts}.
     */
    static final SystemDefaultDnsResolver LOOPBACK_LOCALHOST = new SystemDefaultDnsResolver() {
        @Override
        public InetAddress[] resolve(String host) throws UnknownHostException {
            String h = host.toLowerCase(java.util.Locale.ROOT);
            if (h.equals("localhost") || h.endsWith(".localhost")) {
                return new InetAddress[]{InetAddress.getLoopbackAddress()};
            }
            return super.resolve(host);
        }
    };

    private final CloseableHttpClient direct;
    private final CloseableHttpClient viaProxy; // null without proxy
    private final ProxyConfig proxy;
    private final Map<String, String> extraHeaders;
    private final Runnable onLastClose;
    private final ScheduledThreadPoolExecutor background; // null without ping_url
    private final ProxyHealth health;                     // null without proxy
    private volatile long lastActivityNanos = System.nanoTime();
    private int users = 1; // guarded by this; 0 = closed

    /**
     * A client with one user; {@link #retain()} adds users, each {@link #close()} removes one and the last closes
     * the connection pools and runs {@code onLastClose}.
     */
    public ObjectHttp(String type, boolean skipVerify, List<String> caCertFiles, int timeoutSecs, int connectTimeoutSecs,
               ProxyConfig proxy, Map<String, String> env, Runnable onLastClose) throws IOException {
        this.onLastClose = java.util.Objects.requireNonNull(onLastClose, "onLastClose is null");
        TlsSocketStrategy tls = TlsContexts.strategy(type, skipVerify, caCertFiles);
        this.proxy = java.util.Objects.requireNonNull(proxy, "proxy is null");
        this.direct = client(tls, timeoutSecs, connectTimeoutSecs, null);
        CloseableHttpClient proxied = null;
        try {
            proxied = proxy.enabled() ? client(tls, timeoutSecs, connectTimeoutSecs, proxyHost(proxy.url())) : null;
        } catch (RuntimeException e) {
            direct.close();
            throw e;
        }
        this.viaProxy = proxied;
        this.extraHeaders = envHeaders(env);
        if (proxied != null && !proxy.pingUrl().isEmpty()) {
            background = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "nydus-" + type + "-proxy-health-" + THREAD_IDS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            background.setRemoveOnCancelPolicy(true);
            background.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            int pingTimeout = connectTimeoutSecs;
            health = new ProxyHealth(proxy, background, u -> ping(u, pingTimeout), () -> lastActivityNanos);
        } else {
            background = null;
            health = proxied == null ? null : new ProxyHealth(proxy, null, u -> true, () -> lastActivityNanos);
        }
    }

    /** Health probe: direct GET of the ping URL with timeout {@code connect_timeout}; 200..399 = healthy. */
    private boolean ping(URI uri, int timeoutSecs) {
        HttpUriRequestBase r = new HttpUriRequestBase("GET", uri);
        r.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(timeoutSecs)).build());
        extraHeaders.forEach(r::setHeader);
        try {
            return direct.execute(r, response -> {
                EntityUtils.consume(response.getEntity());
                return response.getCode() >= 200 && response.getCode() < 400;
            });
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Sends a request with the given (already signed) headers. Through the proxy first when one is set; with
     * {@code proxy.fallback} a transport error or a 5xx from the proxy sends the same request directly.
     */
    <T> T execute(String method, URI uri, Map<String, String> signedHeaders, ResponseHandler<T> handler)
            throws IOException {
        return execute(method, uri, signedHeaders, null, handler);
    }

    /** The same with a request body (uploads); a repeatable {@code body} may be sent twice (proxy fallback). */
    <T> T execute(String method, URI uri, Map<String, String> signedHeaders, HttpEntity body,
                  ResponseHandler<T> handler) throws IOException {
        lastActivityNanos = System.nanoTime();
        boolean useProxy = viaProxy != null;
        if (useProxy && !health.healthy()) {
            if (!proxy.fallback()) {
                throw new dev.nydus4j.spi.BackendException(health.unhealthyMessage(), true);
            }
            useProxy = false; // unhealthy: direct to the origin until a ping succeeds again
        }
        if (useProxy) {
            URI proxied = proxy.useHttp() && "https".equals(uri.getScheme()) ? httpOf(uri) : uri;
            Object[] fallback = new Object[1];
            try {
                HttpUriRequestBase viaRequest = request(method, proxied, signedHeaders, body);
                ProxyConfig.DRAGONFLY_HEADERS.forEach(viaRequest::setHeader);
                T result = viaProxy.execute(viaRequest, response -> {
                    org.apache.hc.core5.http.Header errorType = response.getFirstHeader(ProxyConfig.DRAGONFLY_ERROR_TYPE);
                    if (errorType != null && "proxy".equalsIgnoreCase(errorType.getValue())) {
                        int code = response.getCode();
                        EntityUtils.consume(response.getEntity());
                        if (code == 403) {
                            throw new dev.nydus4j.spi.BackendException("proxy " + proxy.url() + " forbids " + method
                                    + " " + uri.getHost() + " (dfdaemon 403)", false, 403, null);
                        }
                        if (!proxy.fallback()) {
                            throw new dev.nydus4j.spi.BackendException((code == 429 ? "proxy rate limited"
                                    : "proxy error " + code) + " from " + proxy.url(), true, code, null);
                        }
                        fallback[0] = Boolean.TRUE;
                        return null;
                    }
                    if (proxy.fallback() && response.getCode() >= 500) {
                        EntityUtils.consume(response.getEntity());
                        fallback[0] = Boolean.TRUE;
                        return null;
                    }
                    return handler.handle(response);
                });
                if (fallback[0] == null) {
                    return result;
                }
            } catch (IOException e) {
                if (!proxy.fallback() || e instanceof dev.nydus4j.spi.BackendException
                        || e instanceof java.io.FileNotFoundException) {
                    throw e;
                }
            }
        }
        return direct.execute(request(method, uri, signedHeaders, body), handler::handle);
    }

    private HttpUriRequestBase request(String method, URI uri, Map<String, String> signedHeaders, HttpEntity body) {
        HttpUriRequestBase r = new HttpUriRequestBase(method, uri);
        r.setEntity(body);
        signedHeaders.forEach(r::setHeader);
        extraHeaders.forEach(r::setHeader);
        return r;
    }

    /** Adds a user; false when the client is already closed. */
    public synchronized boolean retain() {
        if (users == 0) {
            return false;
        }
        users++;
        return true;
    }

    /** Removes one user; the last one closes the pools. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (users == 0 || --users > 0) {
                return;
            }
        }
        onLastClose.run();
        if (health != null) {
            health.close();
        }
        if (background != null) {
            background.shutdownNow();
        }
        try {
            direct.close();
        } finally {
            if (viaProxy != null) {
                viaProxy.close();
            }
        }
    }

    private static URI httpOf(URI uri) {
        return URI.create("http" + uri.toString().substring("https".length()));
    }

    private static HttpHost proxyHost(String url) {
        URI u = URI.create(url);
        int port = u.getPort() != -1 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
        return new HttpHost(u.getScheme(), u.getHost(), port);
    }

    /**
     * {@code NYDUS_HEADER_<Name>=<value>} as {@code <Name>: <value>}, for every network backend; invalid names
     * (not an HTTP token) and values (CR, LF, NUL) are skipped with a warning.
     */
    public static Map<String, String> envHeaders(Map<String, String> env) {
        Map<String, String> out = new LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_HEADER_PREFIX)) {
                String name = k.substring(ENV_HEADER_PREFIX.length());
                if (TOKEN.matcher(name).matches() && v.chars().noneMatch(c -> c == '\r' || c == '\n' || c == 0)) {
                    out.put(name, v);
                } else {
                    org.slf4j.LoggerFactory.getLogger(ObjectHttp.class)
                            .warn("ignoring environment variable {}: not a valid HTTP header", k);
                }
            }
        });
        return Map.copyOf(out);
    }

    private static CloseableHttpClient client(TlsSocketStrategy tls, int timeoutSecs, int connectTimeoutSecs,
                                              HttpHost proxyHost) {
        return httpClient(tls, timeoutSecs, connectTimeoutSecs, proxyHost, true);
    }

    /**
     * The HTTP client every network backend uses: pooled (32 per route, 64 in all), {@code timeout} per read and
     * for a pooled connection, no redirects (callers handle them: no Authorization to blob storage), no automatic
     * retries (the backend's {@code retry_limit} decides), no content decompression (ranges must arrive as stored),
     * no cookies.
     *
     * @param proxyHost          forward proxy, or null
     * @param localhostSubdomains resolve {@code *.localhost} to loopback (virtual-hosted buckets in tests)
     */
    public static CloseableHttpClient httpClient(TlsSocketStrategy tls, int timeoutSecs, int connectTimeoutSecs,
                                                 HttpHost proxyHost, boolean localhostSubdomains) {
        ConnectionConfig cc = ConnectionConfig.custom()
                .setConnectTimeout(Timeout.ofSeconds(connectTimeoutSecs))
                .setSocketTimeout(Timeout.ofSeconds(timeoutSecs))
                .build();
        HttpClientBuilder b = HttpClients.custom()
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setTlsSocketStrategy(tls)
                        .setDnsResolver(localhostSubdomains ? LOOPBACK_LOCALHOST : SystemDefaultDnsResolver.INSTANCE)
                        .setDefaultConnectionConfig(cc)
                        .setMaxConnPerRoute(32)
                        .setMaxConnTotal(64)
                        .build())
                .setDefaultRequestConfig(RequestConfig.custom()
                        .setResponseTimeout(Timeout.ofSeconds(timeoutSecs))
                        .setConnectionRequestTimeout(Timeout.ofSeconds(Math.max(timeoutSecs, 30)))
                        .build())
                .disableRedirectHandling()
                .disableAutomaticRetries()
                .disableContentCompression()
                .disableCookieManagement()
                .setUserAgent(USER_AGENT);
        if (proxyHost != null) {
            b.setProxy(proxyHost);
        }
        return b.build();
    }
}
