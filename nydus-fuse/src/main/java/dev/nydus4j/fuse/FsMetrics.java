package dev.nydus4j.fuse;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * File-operation counters of one instance, shaped like upstream's {@code GET /api/v1/metrics} (API.md 2.3), plus
 * the optional per-file records of {@code /api/v1/metrics/files} and {@code /metrics/pattern}: per-inode counters
 * when {@code iostats_files} is set, first access and read count per inode when {@code access_pattern} is set, and
 * the set of inodes read since the last query when {@code latest_read_files} is set. Each is off by default, as
 * upstream, since it costs memory per file; a disabled record stays empty. Thread-safe.
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

    private final boolean filesAccount;
    private final boolean accessPattern;
    private final boolean latestRead;
    private final Map<Long, FileStats> files = new ConcurrentHashMap<>();
    private final Map<Long, Pattern> patterns = new ConcurrentHashMap<>();
    private final Set<Long> latest = ConcurrentHashMap.newKeySet();

    /** Counters of one inode ({@code iostats_files}). */
    private static final class FileStats {
        final AtomicLong totalFops = new AtomicLong();
        final AtomicLong dataRead = new AtomicLong();
        final AtomicLongArray blockCountRead = new AtomicLongArray(8);
        final AtomicLongArray fopHits = new AtomicLongArray(Op.values().length);
        final AtomicLongArray fopErrors = new AtomicLongArray(Op.values().length);
    }

    /** How one inode was read ({@code access_pattern}): the first read's wall time and the number of reads. */
    private static final class Pattern {
        final long firstSecs;
        final int firstNanos;
        final AtomicLong nrRead = new AtomicLong();

        Pattern(Instant first) {
            firstSecs = first.getEpochSecond();
            firstNanos = first.getNano();
        }
    }

    /** Only the global counters. */
    public FsMetrics(String id) {
        this(id, false, false, false);
    }

    /**
     * @param filesAccount  keep per-inode counters ({@code rafs.iostats_files})
     * @param accessPattern keep per-inode access patterns ({@code rafs.access_pattern})
     * @param latestRead    keep the set of inodes read since the last query ({@code rafs.latest_read_files})
     */
    public FsMetrics(String id, boolean filesAccount, boolean accessPattern, boolean latestRead) {
        this.id = id;
        this.filesAccount = filesAccount;
        this.accessPattern = accessPattern;
        this.latestRead = latestRead;
    }

    /** Whether any per-inode record is kept (callers skip {@link #file} otherwise). */
    boolean perFile() {
        return filesAccount || accessPattern || latestRead;
    }

    /**
     * Records an operation on inode {@code ino} (as the kernel sees it) in the per-inode records that are enabled;
     * {@code bytes} is the size read for a successful {@link Op#READ}.
     */
    void file(long ino, Op op, boolean ok, long bytes) {
        if (filesAccount) {
            FileStats f = files.computeIfAbsent(ino, k -> new FileStats());
            f.totalFops.incrementAndGet();
            if (ok) {
                f.fopHits.incrementAndGet(op.ordinal());
            } else {
                f.fopErrors.incrementAndGet(op.ordinal());
            }
            if (op == Op.READ && ok) {
                f.dataRead.addAndGet(bytes);
                f.blockCountRead.incrementAndGet(bucket(bytes, SIZE_BUCKETS));
            }
        }
        if (op == Op.READ && ok) {
            if (accessPattern) {
                patterns.computeIfAbsent(ino, k -> new Pattern(Instant.now())).nrRead.incrementAndGet();
            }
            if (latestRead) {
                latest.add(ino);
            }
        }
    }

    /**
     * {@code GET /api/v1/metrics/files}: inode number (a string) → its counters; empty unless {@code iostats_files}.
     */
    public Map<String, Object> filesJson() {
        Map<Long, Object> sorted = new TreeMap<>();
        files.forEach((ino, f) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("total_fops", f.totalFops.get());
            m.put("data_read", f.dataRead.get());
            m.put("block_count_read", toArray(f.blockCountRead));
            m.put("fop_hits", toArray(f.fopHits));
            m.put("fop_errors", toArray(f.fopErrors));
            sorted.put(ino, m);
        });
        Map<String, Object> out = new LinkedHashMap<>();
        sorted.forEach((ino, m) -> out.put(Long.toUnsignedString(ino), m));
        return out;
    }

    /**
     * {@code GET /api/v1/metrics/files?latest=true}: the inodes read since the previous such call, in upstream's
     * form (its inode bitmap export): ascending runs, {@code [first, last]} for consecutive inodes and {@code [ino]}
     * for a single one, e.g. {@code [[1,5],[8],[10],[100,199]]}. The set is cleared. Always empty unless
     * {@code latest_read_files}.
     */
    public List<List<Long>> drainLatestRead() {
        List<Long> inos = new ArrayList<>();
        for (Long ino : latest) {
            if (latest.remove(ino)) {
                inos.add(ino);
            }
        }
        inos.sort(Long::compareUnsigned);
        List<List<Long>> runs = new ArrayList<>();
        int i = 0;
        while (i < inos.size()) {
            int j = i;
            while (j + 1 < inos.size() && inos.get(j + 1) == inos.get(j) + 1) {
                j++;
            }
            runs.add(i == j ? List.of(inos.get(i)) : List.of(inos.get(i), inos.get(j)));
            i = j + 1;
        }
        return runs;
    }

    /**
     * {@code GET /api/v1/metrics/pattern}: inodes read at least once, by first access; empty unless
     * {@code access_pattern}.
     */
    public List<Map<String, Object>> patternJson() {
        List<Map.Entry<Long, Pattern>> es = new ArrayList<>(patterns.entrySet());
        es.sort((a, b) -> a.getValue().firstSecs != b.getValue().firstSecs
                ? Long.compare(a.getValue().firstSecs, b.getValue().firstSecs)
                : a.getValue().firstNanos != b.getValue().firstNanos
                ? Integer.compare(a.getValue().firstNanos, b.getValue().firstNanos)
                : Long.compareUnsigned(a.getKey(), b.getKey()));
        List<Map<String, Object>> out = new ArrayList<>(es.size());
        for (var e : es) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ino", e.getKey());
            m.put("nr_read", e.getValue().nrRead.get());
            m.put("first_access_time_secs", e.getValue().firstSecs);
            m.put("first_access_time_nanos", e.getValue().firstNanos);
            out.add(m);
        }
        return out;
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
        } else if (op == Op.RELEASE) {
            nrOpens.decrementAndGet(); // files open now, as upstream
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
    public Map<String, Object> toJson() {
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
