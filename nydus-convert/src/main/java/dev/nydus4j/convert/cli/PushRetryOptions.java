package dev.nydus4j.convert.cli;

import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Upstream's {@code --push-retry-count}/{@code --push-retry-delay} of the commands that push (a picocli mixin). */
final class PushRetryOptions {
    private static final Pattern GO_DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    @Option(names = "--push-retry-count", defaultValue = "${env:PUSH_RETRY_COUNT:-3}", paramLabel = "N",
            description = "Retries of a failed push. Default: ${DEFAULT-VALUE}.")
    int count;

    @Option(names = "--push-retry-delay", defaultValue = "${env:PUSH_RETRY_DELAY:-5s}", paramLabel = "DURATION",
            description = "Pause between push retries (Go duration: 500ms, 5s, 1m). Default: ${DEFAULT-VALUE}.")
    String delay;

    /** The retry count, checked. */
    int count() {
        if (count < 0) {
            throw new IllegalArgumentException("--push-retry-count must be >= 0");
        }
        return count;
    }

    /** The pause between retries, parsed. */
    Duration delay() {
        return duration(delay);
    }

    /** Go-style duration: {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
    static Duration duration(String s) {
        Matcher m = GO_DURATION.matcher(s.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid duration '" + s + "': expected e.g. 500ms, 5s, 1m");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }
}
