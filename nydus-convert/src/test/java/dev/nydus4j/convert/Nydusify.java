package dev.nydus4j.convert;

import dev.nydus4j.convert.cli.NydusifyCommand;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the {@code nydusify} CLI in this JVM and captures what it prints. */
final class Nydusify {
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    private Nydusify() {
    }

    static Result run(String... args) {
        return runWithStdin("", args);
    }

    static Result runWithStdin(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = NydusifyCommand.execute(args, new PrintWriter(out), new PrintWriter(err),
                new ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return new Result(rc, out.toString(), err.toString());
    }
}
