package dev.nydus4j.snapshotter;

import java.util.List;
import java.util.Objects;

/** One mount as containerd receives it (mount(2) type, source and options). Immutable. */
record MountSpec(String type, String source, List<String> options) {
    MountSpec {
        Objects.requireNonNull(type, "type is null");
        Objects.requireNonNull(source, "source is null");
        options = List.copyOf(options);
    }

    /** The value of option {@code name=}, or null. */
    String option(String name) {
        String prefix = name + "=";
        return options.stream().filter(o -> o.startsWith(prefix)).map(o -> o.substring(prefix.length()))
                .findFirst().orElse(null);
    }
}
