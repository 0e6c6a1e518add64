package dev.nydus4j.cli.image;

import java.nio.file.Path;

/** {@code --chunk-dict bootstrap=<path>}: the only chunk dictionary form upstream's builder accepts. */
final class ChunkDictArgument {
    private ChunkDictArgument() {
    }

    /** The bootstrap path of a {@code bootstrap=<path>} argument, or null for null. */
    static Path parse(String arg) {
        if (arg == null) {
            return null;
        }
        int eq = arg.indexOf('=');
        String kind = eq < 0 ? "" : arg.substring(0, eq);
        String path = eq < 0 ? "" : arg.substring(eq + 1);
        if (!kind.equals("bootstrap") || path.isEmpty()) {
            throw new IllegalArgumentException("invalid --chunk-dict '" + arg + "': expected bootstrap=<path>");
        }
        return Path.of(path);
    }
}
