package dev.nydus4j.cli.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs system tools (tar, umoci, mount) from tests, failing with their output. */
final class ExternalCommand {
    private ExternalCommand() {
    }

    static String run(String... cmd) throws IOException {
        return run(null, cmd);
    }

    static String run(Path dir, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", cmd));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** Whether an executable of this name is on PATH. */
    static boolean available(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    static boolean isRoot() {
        try {
            return "0".equals(run("id", "-u").trim());
        } catch (IOException e) {
            return false;
        }
    }

    static boolean kernelHas(String fs) {
        try {
            return Files.readAllLines(Path.of("/proc/filesystems")).stream().anyMatch(l -> l.trim().endsWith(fs));
        } catch (IOException e) {
            return false;
        }
    }

    /** A tar of {@code dir}'s content as GNU tar writes OCI layers: pax, numeric owners, xattrs, ns mtimes. */
    static void tar(Path dir, Path out, boolean gzip) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("tar", "--format=pax", "--numeric-owner", "--xattrs",
                "--xattrs-include=*", "--sort=name", "-C", dir.toString(), gzip ? "-czf" : "-cf", out.toString(), "."));
        run(cmd.toArray(new String[0]));
    }

    static void untar(Path tar, Path dir) throws IOException {
        Files.createDirectories(dir);
        run("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", tar.toString(), "-C", dir.toString());
    }
}
