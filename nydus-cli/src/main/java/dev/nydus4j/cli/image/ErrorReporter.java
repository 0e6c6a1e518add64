package dev.nydus4j.cli.image;

import dev.nydus4j.cli.LogSettings;
import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Turns every failure into one line on stderr ({@code error: ...}) and an exit code: 1 for usage and runtime errors,
 * 2 for {@link InconsistentFilesystemException}. Stack traces only appear with {@code --log-level debug|trace}.
 */
public final class ErrorReporter implements CommandLine.IParameterExceptionHandler, CommandLine.IExecutionExceptionHandler {

    static final int EXIT_ERROR = 1;
    static final int EXIT_INCONSISTENT = 2;

    /** Wires a command line to {@code out}/{@code err} with one-line error reporting (every tool of the jar). */
    public static CommandLine configure(CommandLine cl, PrintWriter out, PrintWriter err) {
        cl.setOut(out);
        cl.setErr(err);
        ErrorReporter reporter = new ErrorReporter();
        cl.setParameterExceptionHandler(reporter);
        cl.setExecutionExceptionHandler(reporter);
        return cl;
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        PrintWriter err = ex.getCommandLine().getErr();
        err.println("error: " + oneLine(ex.getMessage()) + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                + " --help')");
        if (LogSettings.verbose()) {
            ex.printStackTrace(err);
        }
        err.flush();
        return EXIT_ERROR;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parseResult) {
        PrintWriter err = cl.getErr();
        err.println("error: " + describe(ex));
        if (LogSettings.verbose()) {
            ex.printStackTrace(err);
        }
        err.flush();
        return ex instanceof InconsistentFilesystemException ? EXIT_INCONSISTENT : EXIT_ERROR;
    }

    /** The message of {@code ex} followed by the causes' messages when they add something. */
    static String describe(Throwable ex) {
        StringBuilder sb = new StringBuilder(message(ex));
        Throwable c = ex.getCause();
        for (int depth = 0; c != null && depth < 4; depth++, c = c.getCause()) {
            String m = message(c);
            if (!sb.toString().contains(m)) {
                sb.append(": ").append(m);
            }
        }
        return oneLine(sb.toString());
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        if (t instanceof java.nio.file.NoSuchFileException) {
            return "no such file or directory: " + m;
        }
        if (t instanceof java.nio.file.AccessDeniedException) {
            return "permission denied: " + m;
        }
        if (t instanceof java.nio.file.FileAlreadyExistsException) {
            return "file already exists: " + m;
        }
        return m;
    }

    private static String oneLine(String s) {
        return s.replace("\r", " ").replace('\n', ' ').trim();
    }
}
