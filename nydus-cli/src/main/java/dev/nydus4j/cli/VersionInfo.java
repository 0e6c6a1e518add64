package dev.nydus4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Build information of this distribution, as printed by {@code --version} (API spec 1.7) and in result JSON. */
public final class VersionInfo {
    private static final Properties PROPS = load();

    private VersionInfo() {
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = VersionInfo.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read version.properties from the jar", e);
        }
        return p;
    }

    /** Project version without the {@code v} prefix, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        String v = PROPS.getProperty("version", "0.0.0-dev");
        return v.startsWith("${") ? "0.0.0-dev" : v;
    }

    /** Commit the jar was built from; from {@code NYDUS4J_GIT_COMMIT} when the launcher knows it, else unknown. */
    public static String gitCommit() {
        String c = System.getenv("NYDUS4J_GIT_COMMIT");
        return c == null || c.isBlank() ? "unknown" : c.trim();
    }

    /** Build time recorded in the jar, or "unknown". */
    public static String buildTime() {
        String time = PROPS.getProperty("build.time", "unknown");
        return time.startsWith("${") ? "unknown" : time;
    }

    /**
     * Lines in upstream's shape: tools parse {@code Version:\s*(v.*)}, so the version keeps its {@code v} prefix.
     * The block starts with a carriage return, as upstream's does.
     */
    public static String[] versionLines(String tool) {
        String time = PROPS.getProperty("build.time", "unknown");
        return new String[]{
                tool + " \r",
                "Version: \tv" + version(),
                "Git Commit: \t" + gitCommit(),
                "Build Time: \t" + (time.startsWith("${") ? "unknown" : time),
                "Profile: \trelease",
                "Java: \t\t" + System.getProperty("java.version"),
        };
    }

    /** {@code <package_ver>-<git_commit>} for result JSON (API spec 4.9). */
    public static String jsonVersion() {
        return version() + "-" + gitCommit();
    }
}
