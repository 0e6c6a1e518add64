package dev.nydus4j.cli.image;

import dev.nydus4j.cli.LogSettings;
import dev.nydus4j.cli.VersionInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.InputStream;
import java.io.PrintWriter;

/**
 * {@code nydus-image}: builds, merges, checks, inspects, unpacks and exports RAFS images (API spec 4). Subcommands and
 * flags follow upstream's names so that converters and scripts written for upstream keep working.
 */
@Command(name = "nydus-image",
        mixinStandardHelpOptions = true,
        versionProvider = NydusImageCommand.Version.class,
        description = "Builds, merges, checks, inspects, unpacks and exports RAFS (Nydus) filesystem images.",
        subcommands = {CreateCommand.class, MergeCommand.class, CheckCommand.class, InspectCommand.class,
                StatCommand.class, UnpackCommand.class, ExportCommand.class, CommandLine.HelpCommand.class})
public final class NydusImageCommand implements Runnable {

    @Option(names = {"-l", "--log-level"}, scope = ScopeType.INHERIT, defaultValue = "info", paramLabel = "LEVEL",
            description = "Log level: trace, debug, info, warn, error (default: ${DEFAULT-VALUE}).",
            converter = LogLevelConverter.class)
    String logLevel;

    @Option(names = {"-L", "--log-file"}, scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "Write log messages to FILE instead of stderr.")
    String logFile;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Standard input of this invocation (prefetch lists, the interactive inspect prompt, "-" sources). */
    private InputStream stdin = System.in;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand; see 'nydus-image --help'");
    }

    /**
     * Parses and runs one {@code nydus-image} command line.
     *
     * @return exit code: 0 success, 1 error, 2 inconsistent filesystem on merge
     */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, System.in, out, err);
    }

    /** As {@link #execute(String[], PrintWriter, PrintWriter)} with an explicit standard input. */
    public static int execute(String[] args, InputStream in, PrintWriter out, PrintWriter err) {
        NydusImageCommand top = new NydusImageCommand();
        top.stdin = in;
        return newCommandLine(top, out, err).execute(args);
    }

    /** The configured command line (tests use it to read help text). */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
        return newCommandLine(new NydusImageCommand(), out, err);
    }

    private static CommandLine newCommandLine(NydusImageCommand top, PrintWriter out, PrintWriter err) {
        CommandLine cl = ErrorReporter.configure(new CommandLine(top), out, err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    InputStream stdin() {
        return stdin;
    }

    /** {@code --version} in upstream's multi-line shape (API spec 1.7). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return VersionInfo.versionLines("nydus-image");
        }
    }

    /** Accepts the log levels slf4j-simple knows; remembers the choice for stack-trace decisions. */
    static final class LogLevelConverter implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String v = value.toLowerCase(java.util.Locale.ROOT);
            if (!v.matches("trace|debug|info|warn|error|off")) {
                throw new CommandLine.TypeConversionException(
                        "invalid log level '" + value + "'; expected trace, debug, info, warn, error or off");
            }
            LogSettings.level(v);
            return v;
        }
    }
}
