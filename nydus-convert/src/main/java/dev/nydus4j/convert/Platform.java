package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** An OCI platform {@code os/architecture[/variant]} as {@code --platform} takes it. */
public record Platform(String os, String architecture, String variant) {

    public static Platform parse(String s) {
        String[] p = s.trim().split("/");
        if (p.length < 2 || p.length > 3 || p[0].isEmpty() || p[1].isEmpty()) {
            throw new IllegalArgumentException("invalid platform '" + s + "': expected os/arch[/variant], e.g. linux/amd64");
        }
        return new Platform(p[0], p[1], p.length == 3 ? p[2] : "");
    }

    /** Comma-separated list, e.g. {@code linux/amd64,linux/arm64}. */
    public static List<Platform> parseList(String s) {
        List<Platform> out = new ArrayList<>();
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                out.add(parse(part));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("empty --platform list");
        }
        return out;
    }

    /** {@code linux/<arch of this JVM>} in Go's names. */
    public static Platform host() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "amd64":
            case "x86_64":
                return new Platform("linux", "amd64", "");
            case "aarch64":
            case "arm64":
                return new Platform("linux", "arm64", "");
            default:
                return new Platform("linux", arch, "");
        }
    }

    /** Whether an index entry's {@code platform} object is this platform (variant only compared when given). */
    boolean matches(JsonNode platform) {
        if (platform == null || platform.isMissingNode() || platform.isNull()) {
            return false;
        }
        return os.equals(platform.path("os").asText()) && architecture.equals(platform.path("architecture").asText())
                && (variant.isEmpty() || variant.equals(platform.path("variant").asText()));
    }

    static String describe(JsonNode platform) {
        if (platform == null || platform.isMissingNode()) {
            return "(no platform)";
        }
        String v = platform.path("variant").asText("");
        return platform.path("os").asText() + "/" + platform.path("architecture").asText() + (v.isEmpty() ? "" : "/" + v);
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
}
