package dev.nydus4j.convert.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;

/**
 * {@code nydusify}: converts OCI/Docker images into nydus images ({@code convert}) and verifies them
 * ({@code check}), with upstream's flags (API spec 5). Exit code 0 on success, 1 on a failed conversion or
 * check, 2 on a usage error.
 */
@Command(name = "nydusify", mixinStandardHelpOptions = true, versionProvider = NydusifyCommand.Version.class,
        subcommands = {ConvertCommand.class, CheckCommand.class, CopyCommand.class, MountCommand.class},
        description = "Convert OCI/Docker images into Nydus images and check them.")
public final class NydusifyCommand implements Runnable {
    @Option(names = {"-D", "--debug"}, description = "Debug logging (env DEBUG_LOG_LEVEL).")
    boolean debug;

    @Option(names = {"-l", "--log-level"}, defaultValue = "${env:LOG_LEVEL:-info}", paramLabel = "LEVEL",
            description = "Log level: trace, debug, info, warn, error. Default: ${DEFAULT-VALUE}.")
    String logLevel;

    @Option(names = "--log-file", paramLabel = "FILE", description = "Accepted for compatibility; logs go to stderr.")
    String logFile;

    PrintWriter out;
    PrintWriter err;
    InputStream stdin;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "missing command: convert, check, copy or mount");
    }

    /** Runs {@code nydusify} with {@code args}; stdin is {@link System#in}. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, out, err, System.in);
    }

    /** Runs {@code nydusify} with {@code args} and another stdin (for {@code --prefetch-patterns}). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err, InputStream stdin) {
        NydusifyCommand root = new NydusifyCommand();
        root.out = out;
        root.err = err;
        root.stdin = stdin;
        CommandLine cl = new CommandLine(root);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            err.println("ERROR: " + message(e));
            err.flush();
            return 1;
        });
        int rc = cl.execute(args);
        out.flush();
        err.flush();
        return rc;
    }

    static String message(Throwable e) {
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": " + (n.getReason() == null ? "not found" : n.getReason());
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(execute(args, out, err));
    }

    /** {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"nydusify (nydus4j) " + dev.nydus4j.convert.Converter.builderVersion()};
        }
    }
}
