package dev.nydus4j.cli.image;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** One in-process {@code nydus-image} invocation with captured stdout/stderr. */
record CliRun(int exitCode, String out, String err) {

    static CliRun run(String... args) {
        return runWithStdin("", args);
    }

    static CliRun runWithStdin(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        int rc = NydusImageCommand.execute(args, in, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(rc, out.toString(), err.toString());
    }

    /** Runs and fails with the captured output unless the exit code is 0. */
    static CliRun ok(String... args) {
        CliRun r = run(args);
        if (r.exitCode != 0) {
            throw new AssertionError("nydus-image " + String.join(" ", args) + " exited " + r.exitCode
                    + "\nstdout: " + r.out + "\nstderr: " + r.err);
        }
        return r;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + ", stdout [" + out + "], stderr [" + err + "]";
    }

    static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
