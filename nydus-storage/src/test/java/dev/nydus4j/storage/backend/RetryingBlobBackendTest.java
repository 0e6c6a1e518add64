package dev.nydus4j.storage.backend;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import org.junit.jupiter.api.Test;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryingBlobBackendTest {

    /** Fails the first {@code failures} reads after writing a partial garbage prefix, then serves 0..n. */
    static final class Flaky implements BlobBackend {
        final AtomicInteger calls = new AtomicInteger();
        final int failures;
        final boolean retryable;

        Flaky(int failures, boolean retryable) {
            this.failures = failures;
            this.retryable = retryable;
        }

        @Override
        public String blobId() {
            return "f".repeat(64);
        }

        @Override
        public long size() throws IOException {
            if (calls.incrementAndGet() <= failures) {
                throw new BackendException("HEAD 503", retryable, 503, null);
            }
            return 1000;
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            if (calls.incrementAndGet() <= failures) {
                dst.put((byte) 0x77); // a partial read before the failure
                throw new BackendException("GET 500 at " + position, retryable, 500, null);
            }
            int n = dst.remaining();
            for (int i = 0; i < n; i++) {
                dst.put((byte) (position + i));
            }
            return n;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void retriesRetryableFailuresWithDoublingBackoffAndResetsTheBuffer() throws Exception {
        Flaky f = new Flaky(3, true);
        List<Long> sleeps = new ArrayList<>();
        BlobBackend r = new RetryingBlobBackend(f, 4, 100, 250, sleeps::add);
        ByteBuffer buf = ByteBuffer.allocate(16);
        buf.position(2);
        assertThat(r.read(buf, 40)).isEqualTo(14);
        assertThat(f.calls.get()).isEqualTo(4);
        assertThat(sleeps).containsExactly(100L, 200L, 250L);
        for (int i = 2; i < 16; i++) {
            assertThat(buf.get(i)).isEqualTo((byte) (40 + i - 2));
        }
    }

    @Test
    void givesUpAfterRetryLimitAndSaysSo() {
        Flaky f = new Flaky(10, true);
        List<Long> sleeps = new ArrayList<>();
        BlobBackend r = new RetryingBlobBackend(f, 2, 10, 1000, sleeps::add);
        assertThatThrownBy(() -> r.read(ByteBuffer.allocate(4), 0)).isInstanceOf(BackendException.class)
                .hasMessageContaining("GET 500")
                .satisfies(e -> assertThat(e.getSuppressed()[0]).hasMessageContaining("gave up after 3 attempts"));
        assertThat(f.calls.get()).isEqualTo(3);
        assertThat(sleeps).containsExactly(10L, 20L);
    }

    @Test
    void nonRetryableFailuresAreNotRepeated() throws Exception {
        Flaky f = new Flaky(1, false);
        List<Long> sleeps = new ArrayList<>();
        BlobBackend r = new RetryingBlobBackend(f, 5, 10, 1000, sleeps::add);
        assertThatThrownBy(() -> r.read(ByteBuffer.allocate(4), 0)).isInstanceOf(BackendException.class);
        assertThat(f.calls.get()).isEqualTo(1);
        assertThat(sleeps).isEmpty();
        Flaky s = new Flaky(2, true);
        assertThat(new RetryingBlobBackend(s, 2, 1, 1, x -> { }).size()).isEqualTo(1000);
    }

    record Cfg(int retryLimit) {
    }

    static final class Provider implements BlobBackendProvider<Cfg> {
        final boolean internal;
        final Flaky flaky;

        Provider(boolean internal, Flaky flaky) {
            this.internal = internal;
            this.flaky = flaky;
        }

        @Override
        public String type() {
            return "flaky";
        }

        @Override
        public Class<Cfg> configType() {
            return Cfg.class;
        }

        @Override
        public boolean retriesInternally() {
            return internal;
        }

        @Override
        public int retryLimit(Cfg c) {
            return c.retryLimit();
        }

        @Override
        public BlobBackend open(Cfg config, String blobId, BackendContext context) throws IOException {
            if (blobId.equals("missing")) {
                throw new FileNotFoundException(blobId);
            }
            return flaky;
        }
    }

    @Test
    void registryWrapsOnlyBackendsThatDoNotRetryThemselves() throws Exception {
        Flaky f = new Flaky(0, true);
        BlobBackend wrapped = BackendRegistry.empty().register(new Provider(false, f))
                .open("flaky", new Cfg(3), "x", BackendContext.simple("/"));
        assertThat(wrapped).isInstanceOf(RetryingBlobBackend.class);
        assertThat(((RetryingBlobBackend) wrapped).retryLimit()).isEqualTo(3);
        assertThat(((RetryingBlobBackend) wrapped).delegate()).isSameAs(f);
        // retry_limit 0: no wrapper
        assertThat(BackendRegistry.empty().register(new Provider(false, f))
                .open("flaky", new Cfg(0), "x", BackendContext.simple("/"))).isSameAs(f);
        // the backend retries by itself: never wrapped, so retries do not multiply
        assertThat(BackendRegistry.empty().register(new Provider(true, f))
                .open("flaky", new Cfg(3), "x", BackendContext.simple("/"))).isSameAs(f);
    }
}
