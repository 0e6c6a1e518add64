package dev.nydus4j.fuse;

import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.Locale;
import java.util.Map;

/**
 * Changes the log level of the running daemon ({@code PUT /api/v1/daemon {"log_level": ...}}, {@code nydusctl set
 * log-level}), as upstream's {@code log::set_max_level}. slf4j has no level API, so this knows the backend the
 * nydus4j jar bundles, slf4j-simple: it lowers or raises the level of every logger created so far and the default of
 * the ones created later. slf4j-simple keeps both in package-private fields; they are set by reflection (the jar
 * runs on the class path, so they are accessible).
 */
public final class LogLevels {
    private static final Map<String, Integer> SIMPLE_LEVELS =
            Map.of("trace", 0, "debug", 10, "info", 20, "warn", 30, "error", 40);

    private LogLevels() {
    }

    /** Whether {@code level} is one of upstream's levels (trace, debug, info, warn, error). */
    public static boolean valid(String level) {
        return level != null && SIMPLE_LEVELS.containsKey(level.toLowerCase(Locale.ROOT));
    }

    /**
     * Sets the level of every logger.
     *
     * @throws IllegalArgumentException      for a level other than trace, debug, info, warn, error
     * @throws UnsupportedOperationException when the slf4j backend is not slf4j-simple (nothing is changed)
     */
    public static synchronized void set(String level) {
        if (!valid(level)) {
            throw new IllegalArgumentException("invalid log level '" + level + "'; one of trace, debug, info, warn,"
                    + " error");
        }
        int value = SIMPLE_LEVELS.get(level.toLowerCase(Locale.ROOT));
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!factory.getClass().getName().equals("org.slf4j.simple.SimpleLoggerFactory")) {
            throw new UnsupportedOperationException("the log level of slf4j backend " + factory.getClass().getName()
                    + " cannot be changed at run time; restart with --log-level " + level);
        }
        try {
            Class<?> simpleLogger = Class.forName("org.slf4j.simple.SimpleLogger", true,
                    factory.getClass().getClassLoader());
            Field configField = simpleLogger.getDeclaredField("CONFIG_PARAMS");
            configField.setAccessible(true);
            Object config = configField.get(null);
            Field defaultLevel = config.getClass().getDeclaredField("defaultLogLevel");
            defaultLevel.setAccessible(true);
            defaultLevel.setInt(config, value);
            Field current = simpleLogger.getDeclaredField("currentLogLevel");
            current.setAccessible(true);
            Field mapField = factory.getClass().getDeclaredField("loggerMap");
            mapField.setAccessible(true);
            Map<?, ?> loggers = (Map<?, ?>) mapField.get(factory);
            for (Object l : loggers.values()) {
                if (simpleLogger.isInstance(l)) {
                    current.setInt(l, value);
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new UnsupportedOperationException("cannot change the level of slf4j-simple at run time ("
                    + e + "); restart with --log-level " + level, e);
        }
        Logger log = LoggerFactory.getLogger(LogLevels.class);
        log.info("log level set to {}", level);
    }
}
