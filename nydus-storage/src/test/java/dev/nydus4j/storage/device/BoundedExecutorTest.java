package dev.nydus4j.storage.device;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BoundedExecutorTest {
    @Test
    void rejectsWhenThreadsAndQueueAreFull() throws Exception {
        BoundedExecutor ex = new BoundedExecutor("test-pool", 2, 3);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(2);
        try {
            for (int i = 0; i < 5; i++) { // 2 running + 3 queued
                ex.execute(() -> {
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ex.getPoolSize()).isEqualTo(2);
            assertThatThrownBy(() -> ex.execute(() -> { }))
                    .isInstanceOf(RejectedExecutionException.class)
                    .hasMessageContaining("test-pool is full (2 threads busy, 3 tasks queued)");
            release.countDown();
        } finally {
            ex.shutdown();
            assertThat(ex.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThatThrownBy(() -> ex.execute(() -> { })).hasMessageContaining("shut down");
    }

    @Test
    void blobDeviceHandsBackendsItsBoundedExecutorAndShutsItDown() throws Exception {
        BlobDevice dev = BlobDevice.builder().backend(id -> {
            throw new java.io.FileNotFoundException(id);
        }).executor(1, 1).build();
        assertThat(dev.backendContext().executor()).isInstanceOf(BoundedExecutor.class);
        BoundedExecutor ex = (BoundedExecutor) dev.backendContext().executor();
        assertThat(ex.getMaximumPoolSize()).isEqualTo(1);
        dev.close();
        assertThat(ex.isShutdown()).isTrue();
    }
}
