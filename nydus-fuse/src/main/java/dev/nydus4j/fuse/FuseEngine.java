package dev.nydus4j.fuse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How nydusd talks to the kernel's FUSE: {@link #KERNEL}, its own protocol session on /dev/fuse
 * ({@link KernelSession}: needs root for mount(2)), or {@link #LIBFUSE}, libfuse2's path API through jnr-fuse
 * ({@link RafsFuse}), which also works where only fusermount may mount. The default is {@code kernel} for root and
 * {@code libfuse} otherwise; the system property {@value #PROPERTY} or {@code --fuse-engine} choose. A kernel
 * session that cannot mount falls back to libfuse (logged).
 *
 * <p>What differs between them, beyond speed: the kernel engine mounts with {@code default_permissions} and
 * {@code FUSE_POSIX_ACL}, so the kernel checks modes and ACLs for non-root users (libfuse's mount checks neither:
 * any user may read any file); unless an image keeps per-file metrics when the first file is opened, it switches
 * OPEN, OPENDIR, RELEASE and FLUSH off for the mount, after which per-open metrics ({@code nr_opens}, the
 * OPEN/RELEASE counters) stay 0 while LOOKUP is counted per file instead; a shared daemon's names are cached for
 * a day and dropped by notifications when the API mounts or unmounts an image (libfuse: 1 s, negative entries not
 * cached); directory listings carry real inode numbers and file types.
 */
public enum FuseEngine {
    KERNEL, LIBFUSE;

    private static final java.util.concurrent.atomic.AtomicBoolean PRELOADING =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** System property naming the default engine ({@code kernel} or {@code libfuse}). */
    public static final String PROPERTY = "nydus4j.fuse.engine";

    /** Parses {@code kernel} or {@code libfuse} (any case). */
    public static FuseEngine parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown FUSE engine '" + name + "': use kernel or libfuse");
        }
    }

    /** {@value #PROPERTY} if set, else kernel for root and libfuse otherwise. */
    public static FuseEngine byDefault() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            return parse(p);
        }
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid")) ? KERNEL : LIBFUSE;
        } catch (Exception e) {
            return LIBFUSE;
        }
    }

    /**
     * Starts loading what the engine needs natively (JNA and libc for {@link #KERNEL}) on a background thread, so
     * that it overlaps the rest of the start-up (config parsing, backend discovery) instead of delaying the mount;
     * a failure shows later, when the mount falls back to libfuse.
     */
    public void preload() {
        if (this != KERNEL || !PRELOADING.compareAndSet(false, true)) {
            return; // once per JVM: nydusd's warm-up thread and its start both ask
        }
        Thread t = new Thread(() -> {
            try {
                LibC.getuid();
            } catch (Throwable ignored) { // LinkageError: reported by the mount
                // nothing to do here
            }
        }, "fuse-preload");
        t.setDaemon(true);
        t.start();
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
