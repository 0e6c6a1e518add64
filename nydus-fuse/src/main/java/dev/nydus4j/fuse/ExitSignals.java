package dev.nydus4j.fuse;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.util.List;

/**
 * SIGTERM and SIGINT as a daemon's clean stop, as upstream's nydusd and nydus-snapshotter treat them (they exit 0,
 * not the JVM's 128+n). A shell starts background jobs with SIGINT ignored, and the JVM neither installs a handler
 * for an ignored signal nor lets one be installed, while upstream's binaries override the inherited SIG_IGN (their
 * integration script stops the snapshotter with {@code killall -INT}); so the disposition is reset to the default
 * first (libc through JNA), then both handlers are installed.
 */
public final class ExitSignals {
    private static final Logger LOG = LoggerFactory.getLogger(ExitSignals.class);
    private static final int SIGINT = 2;

    private ExitSignals() {
    }

    /** Runs {@code stop} (on the JVM's signal thread) when SIGTERM or SIGINT arrives. */
    public static void onStop(Runnable stop) {
        try {
            LibC.signal(SIGINT, 0); // SIG_DFL
        } catch (Throwable t) { // no libc through JNA: an inherited SIG_IGN stays (SIGTERM still stops)
            LOG.debug("cannot reset SIGINT to its default ({})", t.toString());
        }
        for (String name : List.of("TERM", "INT")) {
            try {
                Signal.handle(new Signal(name), sig -> {
                    LOG.info("SIG{} received: stopping", name);
                    stop.run();
                });
            } catch (IllegalArgumentException e) { // the VM keeps it (-Xrs) or it is still ignored
                LOG.warn("SIG{} will not stop this process cleanly ({}); use SIG{}", name, e.getMessage(),
                        name.equals("INT") ? "TERM" : "INT");
            }
        }
    }
}
