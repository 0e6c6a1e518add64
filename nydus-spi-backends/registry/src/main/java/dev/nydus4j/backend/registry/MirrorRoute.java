package dev.nydus4j.backend.registry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Legacy {@code mirrors} (BACKENDS.md 8.4), for blob requests only: healthy mirrors in order, then the origin.
 * Thread-safe.
 */
final class MirrorRoute implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MirrorRoute.class);

    private final List<Mirror> mirrors = new ArrayList<>();
    private final List<ScheduledFuture<?>> pings = new ArrayList<>();

    MirrorRoute(List<MirrorConfig> configs, ScheduledExecutorService background, dev.nydus4j.backend.objectstorage.ProxyHealth.Pinger pinger,
                LongSupplier lastActivityNanos) {
        for (MirrorConfig c : configs) {
            Mirror m = new Mirror(c, URI.create(c.host()));
            mirrors.add(m);
            long period = Math.max(1, c.healthCheckIntervalSecs());
            pings.add(background.scheduleWithFixedDelay(() -> {
                long idle = System.nanoTime() - lastActivityNanos.getAsLong();
                if (!m.healthy && idle <= TimeUnit.SECONDS.toNanos(c.healthCheckPauseElapsedSecs())
                        && pinger.ping(URI.create(c.pingUrl()))) {
                    LOG.info("mirror {} is healthy again", c.host());
                    m.failures.set(0);
                    m.healthy = true;
                }
            }, period, period, TimeUnit.SECONDS));
        }
    }

    RegistryResponse send(URI origin, Hop hop) throws IOException {
        for (Mirror m : mirrors) {
            if (!m.healthy) {
                continue;
            }
            URI target = m.rewrite(origin);
            try {
                RegistryResponse r = hop.send(target, false, m.config.headers());
                if (r.status() < 500) {
                    return r;
                }
                LOG.debug("mirror {} answered HTTP {}; trying the next one", m.config.host(), r.status());
                r.close();
            } catch (IOException e) {
                int failures = m.failures.incrementAndGet();
                if (failures >= m.config.failureLimit() && m.healthy) {
                    m.healthy = false;
                    LOG.warn("mirror {} marked unhealthy after {} failures: {}", m.config.host(), failures,
                            e.getMessage());
                }
            }
        }
        return hop.send(origin, false, Map.of());
    }

    @Override
    public void close() {
        pings.forEach(p -> p.cancel(false));
    }

    private static final class Mirror {
        final MirrorConfig config;
        final URI base;
        final AtomicInteger failures = new AtomicInteger();
        volatile boolean healthy = true;

        Mirror(MirrorConfig config, URI base) {
            this.config = config;
            this.base = base;
        }

        /** Scheme, host and port of the mirror; path and query of the request. */
        URI rewrite(URI origin) {
            String raw = origin.getRawPath() + (origin.getRawQuery() == null ? "" : "?" + origin.getRawQuery());
            return URI.create(base.getScheme() + "://" + base.getRawAuthority() + raw);
        }
    }
}
