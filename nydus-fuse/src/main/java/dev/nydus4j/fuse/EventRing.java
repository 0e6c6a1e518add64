package dev.nydus4j.fuse;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The most recent final read errors, as upstream's {@code GET /api/v1/daemon/events}: at most 500 entries and
 * 50 KiB of text, oldest dropped first. Thread-safe.
 */
final class EventRing {
    static final int MAX_ERRORS = 500;
    static final int MAX_SIZE = 51200;

    private final Deque<String> errors = new ArrayDeque<>();
    private long totalErrors;
    private long totalSize;
    private int size;

    synchronized void add(String error) {
        String e = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)) + " - " + error;
        if (e.length() > MAX_SIZE) {
            e = e.substring(0, MAX_SIZE);
        }
        errors.addLast(e);
        size += e.length();
        totalErrors++;
        totalSize += e.length();
        while (errors.size() > MAX_ERRORS || size > MAX_SIZE) {
            size -= errors.removeFirst().length();
        }
    }

    synchronized Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("max_errors", MAX_ERRORS);
        m.put("total_errors", totalErrors);
        m.put("max_size", MAX_SIZE);
        m.put("total_size", totalSize);
        m.put("errors", new ArrayList<>(errors));
        return m;
    }
}
