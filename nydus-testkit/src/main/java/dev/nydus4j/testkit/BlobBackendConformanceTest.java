package dev.nydus4j.testkit;

import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The contract every {@link BlobBackend} keeps, as a suite each backend module (and plugin authors) extend:
 * sizes, ranges at the edges, reads at and past the end, concurrent readers, missing blobs and idempotent close.
 * A backend declares its capabilities through {@link #shortReadsAtEnd()}. Network backends also implement
 * {@link #openAtHttpOrigin} so that the suite can point them at a {@link FaultServer} and check retries on injected
 * faults, timeouts, that no wrong or partial byte is ever delivered, and that close leaves no thread behind.
 *
 * <p>Subclasses provide one blob with known content ({@link #content()}, {@link #open(String)}); the suite never
 * writes. Random choices print their seed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BlobBackendConformanceTest {
    /** Id of a blob that does not exist in the backend. */
    protected static final String MISSING_ID = "0".repeat(63) + "1";

    /** The bytes of the blob {@link #blobId()} names (at least 200 000 bytes). */
    protected abstract byte[] content();

    /** Id of the blob holding {@link #content()}. */
    protected abstract String blobId();

    /** Opens a blob of the backend under test. */
    protected abstract BlobBackend open(String blobId) throws IOException;

    /**
     * Whether a read that runs past the end returns the bytes up to the end (local backends) rather than failing
     * (network backends, which must fill the buffer or throw).
     */
    protected boolean shortReadsAtEnd() {
        return true;
    }

    /**
     * Opens blob {@code blobId} with its bytes served over plain HTTP by the server at {@code hostPort} (127.0.0.1),
     * which answers any request target with the blob and honours {@code Range} (a registry, object store, or proxy
     * with fallback off, as the backend needs): {@code timeout} and {@code connect_timeout} of
     * {@code timeoutSecs}, {@code retry_limit} of {@code retryLimit}. The default returns null: the backend has no
     * HTTP origin (local backends) and the fault cases are skipped.
     */
    protected BlobBackend openAtHttpOrigin(String hostPort, String blobId, int timeoutSecs, int retryLimit)
            throws IOException {
        return null;
    }

    /** Runs {@code body} against a fault server holding {@link #content()}; skips when not a network backend. */
    private void withFaultServer(FaultCase body) throws Exception {
        try (FaultServer server = new FaultServer(content())) {
            body.run(server);
        }
    }

    @FunctionalInterface
    private interface FaultCase {
        void run(FaultServer server) throws Exception;
    }

    private BlobBackend openFaulty(FaultServer server, int timeoutSecs, int retryLimit) throws IOException {
        BlobBackend b = openAtHttpOrigin(server.host(), blobId(), timeoutSecs, retryLimit);
        org.junit.jupiter.api.Assumptions.assumeTrue(b != null, getClass().getSimpleName()
                + " has no HTTP origin: fault cases skipped");
        return b;
    }

    private static Set<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> !t.getName().startsWith("fault-server")).collect(Collectors.toSet());
    }

    @Test
    void injectedFaultsAreRetriedUpToRetryLimit() throws Exception {
        withFaultServer(server -> {
            byte[] c = content();
            try (BlobBackend b = openFaulty(server, 5, 2)) {
                server.script(FaultServer.Fault.STATUS_500, FaultServer.Fault.RESET);
                assertThat(read(b, 1000, 5000)).isEqualTo(Arrays.copyOfRange(c, 1000, 6000));
                long gets = server.seen.stream().filter(s -> s.method().equals("GET")).count();
                assertThat(gets).as("two failed attempts and a good one").isEqualTo(3);
            }
        });
    }

    @Test
    void exhaustedRetriesFailWithoutDeliveringBytes() throws Exception {
        withFaultServer(server -> {
            try (BlobBackend b = openFaulty(server, 5, 1)) {
                server.script(FaultServer.Fault.TRUNCATE, FaultServer.Fault.TRUNCATE);
                ByteBuffer dst = ByteBuffer.allocate(20_000);
                assertThatThrownBy(() -> b.read(dst, 100)).isInstanceOf(IOException.class)
                        .hasMessageContaining(blobId());
                assertThat(dst.position()).as("nothing delivered from a truncated body").isZero();
                assertThat(server.seen.stream().filter(s -> s.method().equals("GET")).count())
                        .as("retry_limit 1: two attempts").isEqualTo(2);
            }
        });
    }

    @Test
    void stallPastTheTimeoutFailsInTime() throws Exception {
        withFaultServer(server -> {
            try (BlobBackend b = openFaulty(server, 1, 0)) {
                server.script(FaultServer.Fault.STALL_BODY);
                long t0 = System.nanoTime();
                ByteBuffer dst = ByteBuffer.allocate(8192);
                assertThatThrownBy(() -> b.read(dst, 0)).isInstanceOf(IOException.class);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertThat(ms).as("timeout 1 s, no retries").isLessThan(3500);
                assertThat(dst.position()).isZero();
            }
        });
    }

    @Test
    void closeLeavesNoThreadBehind() throws Exception {
        withFaultServer(server -> {
            Set<Thread> before = liveThreads();
            try (BlobBackend b = openFaulty(server, 5, 0)) {
                assertThat(read(b, 0, 100)).isEqualTo(Arrays.copyOf(content(), 100));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            Set<Thread> left;
            do {
                left = liveThreads();
                left.removeAll(before);
                if (!left.isEmpty()) {
                    Thread.sleep(20);
                }
            } while (!left.isEmpty() && System.nanoTime() < deadline);
            assertThat(left).as("threads started by the backend and still alive after close").isEmpty();
        });
    }

    private byte[] read(BlobBackend b, long pos, int len) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(len);
        int n = b.read(dst, pos);
        assertThat(n).as("bytes read at %d of %d", pos, len).isEqualTo(len);
        return dst.array();
    }

    @Test
    void sizeIsTheBlobLength() throws IOException {
        try (BlobBackend b = open(blobId())) {
            assertThat(b.blobId()).isEqualTo(blobId());
            assertThat(b.size()).isEqualTo(content().length);
        }
    }

    @Test
    void rangesAtTheEdges() throws IOException {
        byte[] c = content();
        try (BlobBackend b = open(blobId())) {
            assertThat(read(b, 0, 1)).containsExactly(c[0]);
            assertThat(read(b, c.length - 1, 1)).containsExactly(c[c.length - 1]);
            assertThat(read(b, 0, c.length)).isEqualTo(c);
            assertThat(read(b, 4095, 4098)).isEqualTo(Arrays.copyOfRange(c, 4095, 4095 + 4098));
            ByteBuffer offsetDst = ByteBuffer.allocate(64);
            offsetDst.position(10).limit(30);
            assertThat(b.read(offsetDst, 100)).isEqualTo(20);
            assertThat(Arrays.copyOfRange(offsetDst.array(), 10, 30)).isEqualTo(Arrays.copyOfRange(c, 100, 120));
        }
    }

    @Test
    void atAndPastTheEnd() throws IOException {
        byte[] c = content();
        try (BlobBackend b = open(blobId())) {
            assertThat(b.read(ByteBuffer.allocate(10), c.length)).as("read at the end").isEqualTo(-1);
            if (shortReadsAtEnd()) {
                ByteBuffer dst = ByteBuffer.allocate(100);
                assertThat(b.read(dst, c.length - 10)).isEqualTo(10);
                assertThat(Arrays.copyOf(dst.array(), 10)).isEqualTo(Arrays.copyOfRange(c, c.length - 10, c.length));
            } else {
                assertThatThrownBy(() -> b.read(ByteBuffer.allocate(100), c.length - 10))
                        .isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void concurrentReadersGetTheirOwnBytes() throws Exception {
        byte[] c = content();
        long seed = System.nanoTime();
        System.out.println(getClass().getSimpleName() + " concurrent-read seed " + seed);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (BlobBackend b = open(blobId())) {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                Random r = new Random(seed + t);
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        int off = r.nextInt(c.length - 1);
                        int len = 1 + r.nextInt(Math.min(65536, c.length - off));
                        assertThat(read(b, off, len)).isEqualTo(Arrays.copyOfRange(c, off, off + len));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void missingBlobIsFileNotFound() {
        assertThatThrownBy(() -> {
            try (BlobBackend b = open(MISSING_ID)) {
                b.size(); // a backend may open lazily and find out on first use
            }
        }).isInstanceOf(FileNotFoundException.class).hasMessageContaining(MISSING_ID);
    }

    @Test
    void closeIsIdempotent() throws IOException {
        BlobBackend b = open(blobId());
        assertThat(read(b, 0, 16)).isEqualTo(Arrays.copyOf(content(), 16));
        b.close();
        b.close();
    }
}
