package dev.nydus4j.storage.device;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Backend read counters of one blob device, shaped like upstream's {@code /api/v1/metrics/backend} (API.md 2.3):
 * size buckets <1K, <4K, <16K, <64K, <128K, <512K, <1M, >=1M; latency buckets (ms) <=1, <=20, <=50, <=100,
 * <=500, <=1000, <=2000, >2000. Thread-safe.
 */
public final class BackendStats {
    private static final long[] SIZES = {1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10, 512 << 10, 1 << 20};
    private static final long[] LATENCIES_MS = {1, 20, 50, 100, 500, 1000, 2000};

    private final AtomicLong readCount = new AtomicLong();
    private final AtomicLong readErrors = new AtomicLong();
    private final AtomicLong readBytes = new AtomicLong();
    private final AtomicLong latencyMillisTotal = new AtomicLong();
    private final AtomicLongArray latencyDist = new AtomicLongArray(8);
    private final AtomicLongArray sizeDist = new AtomicLongArray(8);
    private final AtomicLongArray latencyBySize = new AtomicLongArray(64);

    void success(long bytes, long nanos) {
        long ms = nanos / 1_000_000;
        int s = sizeBucket(bytes);
        int l = latencyBucket(ms);
        readCount.incrementAndGet();
        readBytes.addAndGet(bytes);
        latencyMillisTotal.addAndGet(ms);
        latencyDist.incrementAndGet(l);
        sizeDist.incrementAndGet(s);
        latencyBySize.incrementAndGet(s * 8 + l);
    }

    void failure() {
        readErrors.incrementAndGet();
    }

    public long readCount() {
        return readCount.get();
    }

    public long readBytes() {
        return readBytes.get();
    }

    public long readErrors() {
        return readErrors.get();
    }

    private static int sizeBucket(long bytes) {
        for (int i = 0; i < SIZES.length; i++) {
            if (bytes < SIZES[i]) {
                return i;
            }
        }
        return SIZES.length;
    }

    private static int latencyBucket(long ms) {
        for (int i = 0; i < LATENCIES_MS.length; i++) {
            if (ms <= LATENCIES_MS[i]) {
                return i;
            }
        }
        return LATENCIES_MS.length;
    }

    /** The JSON object of {@code GET /api/v1/metrics/backend}. */
    public Map<String, Object> toJson(String backendType) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend_type", backendType);
        m.put("read_count", readCount.get());
        m.put("read_errors", readErrors.get());
        m.put("read_amount_total", readBytes.get());
        m.put("read_cumulative_latency_millis_total", latencyMillisTotal.get());
        m.put("read_cumulative_latency_millis_dist", array(latencyDist, 0, 8));
        m.put("read_count_block_size_dist", array(sizeDist, 0, 8));
        long[][] bySize = new long[8][];
        for (int s = 0; s < 8; s++) {
            bySize[s] = array(latencyBySize, s * 8, 8);
        }
        m.put("read_latency_sizes_dist", bySize);
        return m;
    }

    private static long[] array(AtomicLongArray a, int from, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = a.get(from + i);
        }
        return out;
    }
}
