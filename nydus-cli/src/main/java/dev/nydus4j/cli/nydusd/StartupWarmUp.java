package dev.nydus4j.cli.nydusd;

import dev.nydus4j.fuse.FuseEngine;
import dev.nydus4j.storage.config.NydusdConfigParser;

/**
 * Runs, on a second thread, the cold-JVM work of nydusd's start that does not depend on the command line: loading
 * and first use of Jackson's config parsing, and JNA (backend discovery stays where it is: it logs each backend).
 * The main thread meanwhile builds picocli's model of the command line (~45 ms interpreted), which used to come
 * first; the two halves together took ~90 ms of a ~300 ms spawn-to-mount. Nothing is kept: the sample configs below only exercise the parser's code paths (the
 * real config is parsed after the command line, by then with warm classes). Failures are ignored here; the real
 * calls report them.
 */
public final class StartupWarmUp {
    /** Shapes the snapshotter and {@code -D} use: a registry backend and a localfs one, each with the blob cache. */
    private static final String[] SAMPLES = {
        "{\"device\":{\"backend\":{\"type\":\"registry\",\"config\":{\"scheme\":\"http\",\"host\":\"127.0.0.1:1\","
                + "\"repo\":\"warm/up\",\"timeout\":5,\"connect_timeout\":5,\"retry_limit\":2}},"
                + "\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"/nonexistent\"}}},\"mode\":\"direct\","
                + "\"digest_validate\":false,\"iostats_files\":false,\"enable_xattr\":true,"
                + "\"fs_prefetch\":{\"enable\":true,\"threads_count\":4}}",
        "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"/nonexistent\"}},\"cache\":{\"type\":"
                + "\"blobcache\",\"config\":{\"work_dir\":\"/nonexistent\"}}},\"mode\":\"direct\"}"};

    private StartupWarmUp() {
    }

    /**
     * Starts the warm-up thread (a daemon thread: it never delays the exit). For a fresh nydusd process only, before
     * anything else; in-process callers (tests) have a warm JVM.
     */
    public static void start() {
        Thread t = new Thread(StartupWarmUp::run, "nydusd-warm-up");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        try {
            FuseEngine.byDefault().preload();
            for (String sample : SAMPLES) {
                NydusdConfigParser.parse(sample, "warm-up sample");
            }
        } catch (RuntimeException | LinkageError ignored) {
            // the real start-up meets the same problem and reports it with context
        }
    }
}
