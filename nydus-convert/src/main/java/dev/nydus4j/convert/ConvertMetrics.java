package dev.nydus4j.convert;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Counters of one conversion ({@code --output-json}). Thread-safe. */
public final class ConvertMetrics {
    final AtomicLong pulledBytes = new AtomicLong();
    final AtomicLong pushedBytes = new AtomicLong();
    final AtomicLong blobsPushed = new AtomicLong();
    final AtomicLong blobsSkipped = new AtomicLong();
    final AtomicLong blobsMounted = new AtomicLong();
    final AtomicLong layers = new AtomicLong();
    final AtomicLong convertMillis = new AtomicLong();
    final AtomicLong sourceImageSize = new AtomicLong();
    final AtomicLong targetImageSize = new AtomicLong();
    final AtomicLong pullNanos = new AtomicLong();
    final AtomicLong convertNanos = new AtomicLong();
    final AtomicLong pushNanos = new AtomicLong();
    volatile String sourceDigest = "";
    volatile String targetDigest = "";

    public long pushedBytes() {
        return pushedBytes.get();
    }

    public long pulledBytes() {
        return pulledBytes.get();
    }

    public long blobsPushed() {
        return blobsPushed.get();
    }

    public long blobsSkipped() {
        return blobsSkipped.get();
    }

    public String targetDigest() {
        return targetDigest;
    }

    public String sourceDigest() {
        return sourceDigest;
    }

    /** Fields of the metrics JSON. */
    public Map<String, Object> toMap(long totalMillis) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source_digest", sourceDigest);
        m.put("target_digest", targetDigest);
        m.put("layers", layers.get());
        m.put("pulled_bytes", pulledBytes.get());
        m.put("pushed_bytes", pushedBytes.get());
        m.put("blobs_pushed", blobsPushed.get());
        m.put("blobs_skipped", blobsSkipped.get());
        m.put("blobs_mounted", blobsMounted.get());
        m.put("layer_convert_ms", convertMillis.get());
        m.put("total_ms", totalMillis);
        // upstream nydusify's metrics (acceleration-service converter.Metric: Go field names, sizes in bytes of the
        // config and layers of the converted platforms, durations in nanoseconds); layers are pulled and converted
        // as one stream here, so their pull time is part of ConversionElapsed
        m.put("SourceImageSize", sourceImageSize.get());
        m.put("TargetImageSize", targetImageSize.get());
        m.put("SourcePullElapsed", pullNanos.get());
        m.put("ConversionElapsed", convertNanos.get());
        m.put("TargetPushElapsed", pushNanos.get());
        return m;
    }
}
