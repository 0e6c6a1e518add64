package dev.nydus4j.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Mount table look-ups and lazy unmounts for the checker's FUSE mounts. */
final class Mounts {
    private Mounts() {
    }

    static boolean isMounted(Path mountpoint) throws IOException {
        String mp = mountpoint.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(mp)) {
                return true;
            }
        }
        return false;
    }

    /** {@code fusermount -u}, then {@code umount -l} for leftovers; quiet when nothing is mounted. */
    static void unmount(Path mountpoint) throws IOException {
        if (!isMounted(mountpoint)) {
            return;
        }
        run("fusermount", "-u", mountpoint.toString());
        if (isMounted(mountpoint)) {
            run("umount", "-l", mountpoint.toString());
        }
    }

    private static void run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
    }
}
