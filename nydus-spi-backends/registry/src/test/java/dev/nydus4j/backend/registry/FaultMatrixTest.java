package dev.nydus4j.backend.registry;

import dev.nydus4j.testkit.FaultServer;
import dev.nydus4j.testkit.FaultServer.Fault;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fault matrix of issue 3: a server that fails every attempt in one way. Each case asserts a clear
 * {@link BackendException} naming the blob and range, the number of requests (up to {@code retry_limit + 1} for
 * retryable faults, as long as the pauses fit in the timeout; 1 otherwise), the elapsed time (at least the back-off,
 * at most {@code timeout} per attempt plus the back-off plus slack), that nothing was delivered into the caller's
 * buffer, and that after close no thread of the backend is left. The blob is then still readable once the server behaves, through the same backend.
 */
class FaultMatrixTest {
    private static final String ID = "fa".repeat(32);
    private static final int TIMEOUT_SECS = 1;
    private static final int RETRY_LIMIT = 2;
    /**
     * Attempts made: retry_limit allows 3, but the pauses between attempts may not add up to more than the
     * timeout: 500 ms fits in 1 s, 500 ms + 1 s does not.
     */
    private static final int RETRYABLE_ATTEMPTS = 2;
    /** Back-off before attempt 2: 500 ms * 2^0. */
    private static final Duration BACKOFF = Duration.ofMillis(500);
    private static final Duration SLACK = Duration.ofMillis(1500);

    private FaultServer server;
    private byte[] blob;

    @BeforeEach
    void start() throws Exception {
        blob = new byte[200_000];
        new Random(3).nextBytes(blob);
        server = new FaultServer(blob);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    enum Case {
        STATUS_500(Fault.STATUS_500, true, "HTTP 500"),
        RESET(Fault.RESET, true, "bytes=4096-69631"),
        STALL_BEFORE_BODY(Fault.STALL, true, "timed out (timeout 1 s"),
        STALL_IN_BODY(Fault.STALL_BODY, true, "timed out (timeout 1 s"),
        TRUNCATED(Fault.TRUNCATE, true, "bytes=4096-69631"),
        SHIFTED_RANGE(Fault.SHIFTED_RANGE, false, "server answered Content-Range bytes 4097-69632"),
        LONG_BODY(Fault.LONG_BODY, false, "body longer than the 65536 bytes requested"),
        IGNORED_RANGE(Fault.IGNORE_RANGE, false, "ignored Range");

        final Fault fault;
        final boolean retryable;
        final String message;

        Case(Fault fault, boolean retryable, String message) {
            this.fault = fault;
            this.retryable = retryable;
            this.message = message;
        }
    }

    private static Set<Thread> threads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> !t.getName().startsWith("fault-server")).collect(Collectors.toSet());
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void everyAttemptFailsThenAClearErrorInBoundedTime(Case c) throws Exception {
        Set<Thread> before = threads();
        int expectedRequests = c.retryable ? RETRYABLE_ATTEMPTS : 1;
        for (int i = 0; i < expectedRequests; i++) {
            server.script(c.fault);
        }
        RegistryConfig config = RegistryConfig.of(server.host(), "faulty/app").withTls("http", false, List.of())
                .withTimeouts(TIMEOUT_SECS, 1, RETRY_LIMIT);
        try (BlobBackend b = new RegistryBackendProvider(Map.of()).open(config, ID, BackendContext.simple("/"))) {
            ByteBuffer dst = ByteBuffer.allocate(65536 + 8);
            dst.position(8);
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> b.read(dst, 4096)).isInstanceOf(BackendException.class)
                    .hasMessageContaining(c.message).hasMessageContaining(ID).hasMessageContaining("bytes=4096-69631")
                    .hasMessageContaining(c.retryable ? "after " + expectedRequests + " attempts" : ID);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            System.out.printf("%s: %d requests, %d ms%n", c, server.seen.size(), took.toMillis());
            assertThat(server.seen).as("requests").hasSize(expectedRequests);
            assertThat(dst.position()).as("nothing delivered").isEqualTo(8);
            Duration max = Duration.ofSeconds((long) TIMEOUT_SECS * expectedRequests).plus(SLACK)
                    .plus(c.retryable ? BACKOFF : Duration.ZERO);
            assertThat(took).isLessThan(max);
            if (c.retryable) {
                assertThat(took).isGreaterThanOrEqualTo(BACKOFF);
            }

            // the same backend serves correct bytes once the server behaves
            ByteBuffer ok = ByteBuffer.allocate(1000);
            assertThat(b.read(ok, 150_000)).isEqualTo(1000);
            assertThat(ok.array()).isEqualTo(Arrays.copyOfRange(blob, 150_000, 151_000));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        Set<Thread> leaked = threads();
        while (true) {
            leaked = threads();
            leaked.removeAll(before);
            if (leaked.isEmpty() || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(20);
        }
        assertThat(leaked).as("threads left after close").isEmpty();
    }
}
