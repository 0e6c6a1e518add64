package dev.nydus4j.cli;

import java.util.Locale;
import java.util.Set;

/**
 * Applies {@code -l/--log-level} and {@code -L/--log-file} to slf4j-simple. slf4j-simple reads its settings once, when
 * the first logger is created, so the arguments are scanned here before any library class is touched; picocli still
 * declares the same options so that they show up in help and are accepted anywhere on the command line.
 */
public final class LogSettings {
    private static final Set<String> LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");
    private static volatile String level = "info";

    private LogSettings() {
    }

    /** Scans {@code args} for the log options and configures slf4j-simple (only effective before the first logger). */
    public static void configure(String[] args) {
        configure(null, args);
    }

    /**
     * As {@link #configure(String[])}, for the named tool: nydusd and nydus-image log to {@code FILE.log} when the
     * {@code --log-file} name has no extension, as upstream's logger does.
     */
    public static void configure(String tool, String[] args) {
        String lvl = "info";
        String file = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if ((a.equals("-l") || a.equals("--log-level")) && i + 1 < args.length) {
                lvl = args[++i];
            } else if (a.startsWith("--log-level=")) {
                lvl = a.substring("--log-level=".length());
            } else if ((a.equals("-L") || a.equals("--log-file")) && i + 1 < args.length) {
                file = args[++i];
            } else if (a.startsWith("--log-file=")) {
                file = a.substring("--log-file=".length());
            }
        }
        lvl = lvl.toLowerCase(Locale.ROOT);
        if (!LEVELS.contains(lvl)) {
            lvl = "info"; // picocli rejects the bad value with a proper message later
        }
        level = lvl;
        if (file != null && ("nydusd".equals(tool) || "nydus-image".equals(tool))) {
            file = withLogExtension(file);
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", lvl);
        System.setProperty("org.slf4j.simpleLogger.logFile", file != null ? file : "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
    }

    /** {@code FILE} plus ".log" when its last name has no extension (a leading dot does not count). */
    static String withLogExtension(String file) {
        String name = java.nio.file.Path.of(file).getFileName() == null ? file
                : java.nio.file.Path.of(file).getFileName().toString();
        return name.lastIndexOf('.') > 0 ? file : file + ".log";
    }

    /** Whether errors should carry stack traces (log level debug or trace). */
    public static boolean verbose() {
        return level.equals("debug") || level.equals("trace");
    }

    /** Sets the level directly (in-process callers such as tests). */
    public static void level(String lvl) {
        level = lvl.toLowerCase(Locale.ROOT);
    }
}
