package dev.nydus4j.fuse;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The bandwidth limit the prefetch applies for a configured {@code bandwidth_rate} (CONFIG.md 8). */
class PrefetcherTest {
    @Test
    void aSmallBandwidthLimitIsRaisedToUpstreamsMinimumAndZeroStaysUnlimited() {
        assertThat(Prefetcher.effectiveBandwidthLimit(0)).isZero();
        assertThat(Prefetcher.effectiveBandwidthLimit(-1)).isZero();
        assertThat(Prefetcher.effectiveBandwidthLimit(1 << 20)).isEqualTo(16L << 20);
        assertThat(Prefetcher.effectiveBandwidthLimit((16L << 20) - 1)).isEqualTo(16L << 20);
        assertThat(Prefetcher.effectiveBandwidthLimit(100L << 20)).isEqualTo(100L << 20);
    }
}
