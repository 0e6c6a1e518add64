package dev.nydus4j.snapshotter.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code nydus-overlayfs}: the mount helper that {@code mount.fuse} runs for mounts of type
 * {@code fuse.nydus-overlayfs} as {@code nydus-overlayfs <source> <target> -o <options>} (SNAPSHOTTER.md 8). It drops
 * the options only Kata understands ({@code extraoption=}, {@code io.katacontainers.volume=}) and mounts a kernel
 * overlay with the rest.
 */
public final class NydusOverlayfs {
    private static final int MAX_OPTIONS_CHARS = 1 << 20;

    private NydusOverlayfs() {
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Returns 0 when mounted, 1 when the mount failed, 2 for bad arguments. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        List<String> positional = new ArrayList<>();
        String options = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-o") && i + 1 < args.length) {
                options = args[++i];
            } else if (args[i].startsWith("-o") && args[i].length() > 2) {
                options = args[i].substring(2);
            } else if (args[i].equals("-h") || args[i].equals("--help")) {
                out.println("usage: nydus-overlayfs <source> <target> -o <options>");
                out.flush();
                return 0;
            } else {
                positional.add(args[i]);
            }
        }
        if (positional.size() != 2 || options == null || options.length() > MAX_OPTIONS_CHARS) {
            err.println("usage: nydus-overlayfs <source> <target> -o <options>");
            err.flush();
            return 2;
        }
        String kept = NydusOverlayfsOptions.filter(options);
        try {
            Process p = new ProcessBuilder("mount", "-t", "overlay", "overlay", positional.get(1), "-o", kept)
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            int rc = p.waitFor();
            if (rc != 0) {
                err.println("nydus-overlayfs: mount overlay on " + positional.get(1) + " failed (" + rc + "): " + output);
                err.flush();
                return 1;
            }
            return 0;
        } catch (IOException e) {
            err.println("nydus-overlayfs: cannot run mount: " + e.getMessage());
            err.flush();
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
