package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.FaultServer;
import dev.nydus4j.testkit.FaultServer.Fault;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** retry_limit with back-off 500 ms * 2^n against a fault-injecting server; every case bounded in time. */
class RetryTest {
    private static final String ID = "c0ffee".repeat(10) + "c0ff";
    private FaultServer server;
    private byte[] blob;

    @BeforeEach
    void start() throws Exception {
        long seed = System.nanoTime();
        System.out.println("RetryTest seed " + seed);
        blob = new byte[50_000];
        new Random(seed).nextBytes(blob);
        server = new FaultServer(blob);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private BlobBackend open(int timeoutSecs, int retryLimit) throws Exception {
        RegistryConfig c = RegistryConfig.of(server.host(), "faulty/app").withTls("http", false, List.of())
                .withTimeouts(timeoutSecs, 2, retryLimit);
        return new RegistryBackendProvider(Map.of()).open(c, ID, BackendContext.simple("/"));
    }

    private byte[] readRange(BlobBackend b, long pos, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(len);
        assertThat(b.read(dst, pos)).isEqualTo(len);
        return dst.array();
    }

    @Test
    void serverErrorsAreRetriedWithBackoff() throws Exception {
        server.script(Fault.STATUS_500, Fault.STATUS_500);
        long t0 = System.nanoTime();
        try (BlobBackend b = open(5, 2)) {
            assertThat(readRange(b, 1000, 2000)).isEqualTo(Arrays.copyOfRange(blob, 1000, 3000));
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(server.seen).hasSize(3);
        assertThat(took).isBetween(Duration.ofMillis(1450), Duration.ofSeconds(5));
        assertThat(server.seen.get(2).headers()).containsEntry("range", "bytes=1000-2999")
                .containsEntry("user-agent", "nydusd/1.0.0");
    }

    @Test
    void retriesStopWhenTheirPausesWouldPassTheTimeout() throws Exception {
        // retry_limit 4 would pause 0.5 + 1 + 2 + 4 s; with timeout 2 only 0.5 + 1 s fit: three attempts
        server.script(Fault.STATUS_500, Fault.STATUS_500, Fault.STATUS_500, Fault.STATUS_500, Fault.STATUS_500);
        long t0 = System.nanoTime();
        try (BlobBackend b = open(2, 4)) {
            assertThatThrownBy(() -> readRange(b, 0, 100)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("after 3 attempts; another retry would pass the 2 s timeout");
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(server.seen).hasSize(3);
        assertThat(took).isBetween(Duration.ofMillis(1450), Duration.ofMillis(2500));
    }

    @Test
    void environmentHeadersAreAddedToEveryRequest() throws Exception {
        RegistryConfig c = RegistryConfig.of(server.host(), "faulty/app").withTls("http", false, List.of());
        Map<String, String> env = Map.of("NYDUS_HEADER_X-Tenant", "blue", "NYDUS_HEADER_Bad Name", "x", "PATH", "/bin");
        try (BlobBackend b = new RegistryBackendProvider(env).open(c, ID, BackendContext.simple("/"))) {
            assertThat(readRange(b, 0, 10)).isEqualTo(Arrays.copyOf(blob, 10));
            assertThat(b.size()).isEqualTo(blob.length);
        }
        assertThat(server.seen).hasSize(2).allSatisfy(s -> assertThat(s.headers()).containsEntry("x-tenant", "blue")
                .doesNotContainKey("bad name").containsEntry("user-agent", "nydusd/1.0.0"));
        assertThat(server.seen).extracting(FaultServer.Seen::method).containsExactly("GET", "HEAD");
    }

    @Test
    void resetsAndTruncatedBodiesAreRetried() throws Exception {
        server.script(Fault.RESET, Fault.TRUNCATE);
        try (BlobBackend b = open(5, 2)) {
            assertThat(readRange(b, 0, blob.length)).isEqualTo(blob);
        }
        assertThat(server.seen).hasSize(3);
    }

    @Test
    void exhaustedRetriesReportTheLastFailure() throws Exception {
        server.script(Fault.STATUS_500, Fault.STATUS_500, Fault.STATUS_500);
        try (BlobBackend b = open(5, 1)) {
            ByteBuffer dst = ByteBuffer.allocate(100);
            assertThatThrownBy(() -> b.read(dst, 0)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("HTTP 500").hasMessageContaining("boom!")
                    .hasMessageContaining("after 2 attempts").hasMessageContaining(server.host())
                    .hasMessageContaining("faulty/app").hasMessageContaining(ID).hasMessageContaining("bytes=0-99")
                    .matches(e -> ((BackendException) e).isRetryable() && ((BackendException) e).httpStatus() == 500);
            assertThat(dst.position()).isZero();
        }
        assertThat(server.seen).hasSize(2);
    }

    @Test
    void stallPastTheTimeoutFailsClearly() throws Exception {
        server.script(Fault.STALL);
        long t0 = System.nanoTime();
        try (BlobBackend b = open(1, 0)) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(4096), 4096)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("timed out").hasMessageContaining("timeout 1 s")
                    .hasMessageContaining("bytes=4096-8191").hasMessageContaining(ID)
                    .matches(e -> ((BackendException) e).isRetryable());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
    }

    @Test
    void stallThenSuccessWithinTheRetryBudget() throws Exception {
        server.script(Fault.STALL);
        try (BlobBackend b = open(1, 1)) {
            assertThat(readRange(b, 10, 10)).isEqualTo(Arrays.copyOfRange(blob, 10, 20));
        }
    }

    @Test
    void ignoredRangeIsNotRetriedAndNotServed() throws Exception {
        server.script(Fault.IGNORE_RANGE);
        try (BlobBackend b = open(5, 3)) {
            assertThatThrownBy(() -> b.read(ByteBuffer.allocate(10), 5)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("ignored Range").hasMessageContaining("must answer 206")
                    .matches(e -> !((BackendException) e).isRetryable());
            // a 200 carrying exactly the whole blob is the blob
            server.script(Fault.IGNORE_RANGE);
            assertThat(readRange(b, 0, blob.length)).isEqualTo(blob);
        }
        assertThat(server.seen).hasSize(2);
    }
}
