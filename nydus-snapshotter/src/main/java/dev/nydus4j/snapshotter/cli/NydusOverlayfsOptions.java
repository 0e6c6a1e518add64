package dev.nydus4j.snapshotter.cli;

import java.util.ArrayList;
import java.util.List;

/** The option filter of {@link NydusOverlayfs}: what the kernel's overlayfs would reject is dropped. */
public final class NydusOverlayfsOptions {
    private static final List<String> DROPPED = List.of("extraoption=", "io.katacontainers.volume=");

    private NydusOverlayfsOptions() {
    }

    /** {@code options} without the Kata-only ones, comma-joined. */
    public static String filter(String options) {
        List<String> kept = new ArrayList<>();
        for (String o : options.split(",")) {
            if (!o.isEmpty() && DROPPED.stream().noneMatch(o::startsWith)) {
                kept.add(o);
            }
        }
        return String.join(",", kept);
    }
}
