package dev.nydus4j.testkit.oci;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code umoci} and {@code skopeo} (Debian packages) for tests that build and move OCI images without Docker
 * (TESTING.md 2.2). Every call fails with the command's output when it exits non-zero.
 */
public final class OciTools {
    public static final Path UMOCI = Path.of("/usr/bin/umoci");
    public static final Path SKOPEO = Path.of("/usr/bin/skopeo");
    public static final Path BUSYBOX = Path.of("/usr/bin/busybox");

    private OciTools() {
    }

    /** Whether umoci, skopeo and busybox-static are installed. */
    public static boolean available() {
        return Files.isExecutable(UMOCI) && Files.isExecutable(SKOPEO) && Files.isExecutable(BUSYBOX);
    }

    /** Runs a command; returns its stdout+stderr; throws with that output when it fails or hangs (120 s). */
    public static String run(String... cmd) throws IOException, InterruptedException {
        return run(List.of(cmd));
    }

    public static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish within 120 s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + text);
        }
        return text;
    }

    /** {@code skopeo copy} to a plain-http registry ({@code --dest-tls-verify=false}); {@code args} go first. */
    public static void push(String from, String to, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(SKOPEO.toString(), "copy", "--quiet", "--dest-tls-verify=false"));
        cmd.addAll(List.of(args));
        cmd.add(from);
        cmd.add(to);
        run(cmd);
    }

    /** {@code skopeo inspect --raw} of a manifest on a plain-http registry. */
    public static String inspectRaw(String dockerRef) throws IOException, InterruptedException {
        return run(SKOPEO.toString(), "inspect", "--tls-verify=false", "--raw", dockerRef);
    }
}
