package dev.nydus4j.backend.objectstorage;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link ProxyHealth}: probing period, health transitions, the idle pause and close. */
class ProxyHealthTest {
    private final ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        background.shutdownNow();
    }

    private static ProxyConfig config(String pingUrl, long pauseSecs) {
        return new ProxyConfig("http://127.0.0.1:4001", pingUrl, false, 1, pauseSecs, false, "");
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within 5 s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    void withoutPingUrlAlwaysHealthyAndNothingScheduled() {
        ProxyHealth h = new ProxyHealth(config("", 300), null, u -> false, System::nanoTime);
        assertThat(h.probing()).isFalse();
        assertThat(h.healthy()).isTrue();
        h.close();
    }

    @Test
    void pingsDecideHealthEveryInterval() throws Exception {
        AtomicBoolean up = new AtomicBoolean(false);
        AtomicInteger pings = new AtomicInteger();
        try (ProxyHealth h = new ProxyHealth(config("http://127.0.0.1:4003/healthy", 300), background, u -> {
            assertThat(u).hasToString("http://127.0.0.1:4003/healthy");
            pings.incrementAndGet();
            return up.get();
        }, System::nanoTime)) {
            assertThat(h.probing()).isTrue();
            await(() -> pings.get() >= 1 && !h.healthy()); // the first probe runs at once
            up.set(true);
            long t0 = System.nanoTime();
            await(h::healthy);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("next probe after ~1 s")
                    .isBetween(100L, 3000L);
            assertThat(h.unhealthyMessage()).isEqualTo("proxy http://127.0.0.1:4001 is not healthy and fallback is"
                    + " disabled");
        }
        int after = pings.get();
        Thread.sleep(1300);
        assertThat(pings.get()).as("no probe after close").isEqualTo(after);
    }

    @Test
    void noPingsWhileTheBackendIsIdle() throws Exception {
        AtomicInteger pings = new AtomicInteger();
        long longAgo = System.nanoTime() - TimeUnit.SECONDS.toNanos(10);
        try (ProxyHealth h = new ProxyHealth(config("http://127.0.0.1:4003/healthy", 5), background, u -> {
            pings.incrementAndGet();
            return false;
        }, () -> longAgo)) {
            Thread.sleep(1300);
            assertThat(pings.get()).as("idle 10 s > check_pause_elapsed 5 s").isZero();
            assertThat(h.healthy()).isTrue();
        }
    }
}
