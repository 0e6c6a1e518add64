package dev.nydus4j.backend.registry;

import dev.nydus4j.backend.objectstorage.ProxyConfig;
import dev.nydus4j.backend.objectstorage.ProxyHealth;
import dev.nydus4j.spi.BackendException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Routing of blob requests through {@code proxy.url} (BACKENDS.md 8.1, 8.2): Dragonfly headers, {@code use_http}
 * rewrite, per-request fallback to the origin, and health pings of {@code ping_url} ({@link ProxyHealth}, shared
 * with oss and s3). Thread-safe.
 */
final class ProxyRoute implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyRoute.class);
    private static final long DIRECT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final ProxyConfig config;
    private final ProxyHealth health;
    private final AtomicLong lastDirectLog = new AtomicLong(System.nanoTime() - DIRECT_LOG_INTERVAL_NANOS);

    ProxyRoute(ProxyConfig config, ScheduledExecutorService background, ProxyHealth.Pinger pinger,
               LongSupplier lastActivityNanos) {
        this.config = config;
        this.health = new ProxyHealth(config, background, pinger, lastActivityNanos);
    }

    boolean healthy() {
        return health.healthy();
    }

    RegistryResponse send(URI origin, Hop hop) throws IOException {
        if (!health.healthy()) {
            if (!config.fallback()) {
                throw new BackendException(health.unhealthyMessage(), true);
            }
            long now = System.nanoTime();
            long last = lastDirectLog.get();
            if (now - last >= DIRECT_LOG_INTERVAL_NANOS && lastDirectLog.compareAndSet(last, now)) {
                LOG.warn("proxy {} is unhealthy; sending {} directly", config.url(), origin.getHost());
            }
            return hop.send(origin, false, Map.of());
        }
        URI target = config.useHttp() && "https".equals(origin.getScheme()) ? withScheme(origin, "http") : origin;
        RegistryResponse r;
        try {
            r = hop.send(target, true, ProxyConfig.DRAGONFLY_HEADERS);
        } catch (IOException e) {
            if (!config.fallback()) {
                throw new IOException("via proxy " + config.url() + " (fallback disabled): " + e.getClass().getSimpleName()
                        + ": " + e.getMessage(), e);
            }
            LOG.warn("proxy {} failed ({}); falling back to {}", config.url(), e.getMessage(), origin.getHost());
            return hop.send(origin, false, Map.of());
        }
        if ("proxy".equalsIgnoreCase(r.header(ProxyConfig.DRAGONFLY_ERROR_TYPE))) {
            int status = r.status();
            String text = r.errorText();
            r.close();
            if (status == 403) {
                throw new BackendException("proxy forbidden (dfdaemon 403)" + text, false, 403, null);
            }
            if (!config.fallback()) {
                throw new BackendException((status == 429 ? "proxy rate limited" : "proxy error " + status) + text,
                        true, status, null);
            }
            return hop.send(origin, false, Map.of());
        }
        if (r.status() >= 500 && config.fallback()) {
            LOG.warn("proxy {} answered HTTP {}; falling back to {}", config.url(), r.status(), origin.getHost());
            r.close();
            return hop.send(origin, false, Map.of());
        }
        return r;
    }

    static URI withScheme(URI uri, String scheme) {
        return URI.create(scheme + uri.toString().substring(uri.getScheme().length()));
    }

    @Override
    public void close() {
        health.close();
    }
}
