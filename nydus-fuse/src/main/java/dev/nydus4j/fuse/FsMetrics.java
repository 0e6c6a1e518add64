package dev.nydus4j.fuse;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * File-operation counters of one instance, shaped like upstream's {@code GET /api/v1/metrics} (API.md 2.3).
 * Thread-safe.
 */
public final class FsMetrics {
    /** Upstream's file-operation index order. */
    public enum Op {
        GETATTR, READLINK, OPEN, RELEASE, READ, STATFS, GETXATTR, LISTXATTR, OPENDIR, LOOKUP, READDIR, READDIRPLUS,
        ACCESS, FORGET, BATCH_FORGET
    }

    private static final long[] SIZE_BUCKETS = {1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10, 512 << 10, 1 << 20};
    private static final long[] LATENCY_US = {200, 1_000, 20_000, 50_000, 500_000, 1_000_000, 2_000_000};

    private final String id;
    private final AtomicLong nrOpens = new AtomicLong();
    private final AtomicLong dataRead = new AtomicLong();
    private final AtomicLongArray blockCountRead = new AtomicLongArray(8);
    private final AtomicLongArray fopHits = new AtomicLongArray(Op.values().length);
    private final AtomicLongArray fopErrors = new AtomicLongArray(Op.values().length);
    private final AtomicLongArray fopLatencyUs = new AtomicLongArray(Op.values().length);
    private final AtomicLongArray readLatencyDist = new AtomicLongArray(8);

    public FsMetrics(String id) {
        this.id = id;
    }

    void record(Op op, boolean ok, long nanos) {
        fopHits.incrementAndGet(op.ordinal());
        if (!ok) {
            fopErrors.incrementAndGet(op.ordinal());
        }
        long us = nanos / 1000;
        fopLatencyUs.addAndGet(op.ordinal(), us);
        if (op == Op.READ) {
            readLatencyDist.incrementAndGet(bucket(us, LATENCY_US));
        }
        if (op == Op.OPEN && ok) {
            nrOpens.incrementAndGet();
        }
    }

    void read(long bytes) {
        dataRead.addAndGet(bytes);
        blockCountRead.incrementAndGet(bucket(bytes, SIZE_BUCKETS));
    }

    public long dataRead() {
        return dataRead.get();
    }

    static int bucket(long v, long[] limits) {
        for (int i = 0; i < limits.length; i++) {
            if (v < limits[i] || (limits == LATENCY_US && v <= limits[i])) {
                return i;
            }
        }
        return limits.length;
    }

    /** The JSON object of {@code GET /api/v1/metrics}. */
    public Map<String, Object> toJson(boolean filesAccount, boolean accessPattern, boolean latestRead) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("files_account_enabled", filesAccount);
        m.put("access_pattern_enabled", accessPattern);
        m.put("record_latest_read_files_enabled", latestRead);
        m.put("measure_latency", true);
        m.put("id", id);
        m.put("nr_opens", nrOpens.get());
        m.put("data_read", dataRead.get());
        m.put("block_count_read", toArray(blockCountRead));
        m.put("fop_hits", toArray(fopHits));
        m.put("fop_errors", toArray(fopErrors));
        m.put("fop_cumulative_latency_total", toArray(fopLatencyUs));
        m.put("read_latency_dist", toArray(readLatencyDist));
        return m;
    }

    private static long[] toArray(AtomicLongArray a) {
        long[] out = new long[a.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i);
        }
        return out;
    }
}
