package dev.nydus4j.backend.objectstorage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Health of a {@code proxy} (BACKENDS.md 8.1), shared by every network backend: when {@code ping_url} is set, a
 * background task probes it every {@code check_interval} seconds (first probe at once), but only while the backend
 * had a request within the last {@code check_pause_elapsed} seconds. Initially healthy; without {@code ping_url}
 * always healthy. The caller decides what "unhealthy" means for a request ({@code fallback}). Thread-safe;
 * {@link #close()} cancels the probes.
 */
public final class ProxyHealth implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyHealth.class);

    /** One probe of the ping URL: true when healthy. Must not throw. */
    @FunctionalInterface
    public interface Pinger {
        boolean ping(URI uri);
    }

    private final ProxyConfig config;
    private final LongSupplier lastActivityNanos;
    private final ScheduledFuture<?> pings;
    private volatile boolean healthy = true;

    /**
     * @param background        runs the probes (a single daemon thread is enough); not owned
     * @param lastActivityNanos {@link System#nanoTime()} of the backend's last request
     */
    public ProxyHealth(ProxyConfig config, ScheduledExecutorService background, Pinger pinger,
                       LongSupplier lastActivityNanos) {
        this.config = config;
        this.lastActivityNanos = lastActivityNanos;
        if (config.pingUrl().isEmpty()) {
            pings = null;
        } else {
            URI ping = URI.create(config.pingUrl());
            long period = Math.max(1, config.checkIntervalSecs());
            pings = background.scheduleWithFixedDelay(() -> check(pinger, ping), 0, period, TimeUnit.SECONDS);
        }
    }

    /** Whether requests may go through the proxy. */
    public boolean healthy() {
        return healthy;
    }

    /** Whether a ping URL is probed at all. */
    public boolean probing() {
        return pings != null;
    }

    private void check(Pinger pinger, URI ping) {
        long idle = System.nanoTime() - lastActivityNanos.getAsLong();
        if (idle > TimeUnit.SECONDS.toNanos(config.checkPauseElapsedSecs())) {
            return;
        }
        boolean ok = pinger.ping(ping);
        if (ok != healthy) {
            if (ok) {
                LOG.info("proxy {} is healthy again", config.url());
            } else {
                LOG.warn("proxy {} is unhealthy (ping {} failed); {}", config.url(), ping,
                        config.fallback() ? "going direct to the origin" : "requests fail until it recovers");
            }
        }
        healthy = ok;
    }

    /** The error of a request refused because the proxy is unhealthy and {@code fallback} is off. */
    public String unhealthyMessage() {
        return "proxy " + config.url() + " is not healthy and fallback is disabled";
    }

    @Override
    public void close() {
        if (pings != null) {
            pings.cancel(false);
        }
    }
}
