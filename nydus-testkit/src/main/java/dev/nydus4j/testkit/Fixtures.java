package dev.nydus4j.testkit;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the upstream-built fixture images in {@code ../shared/fixtures/upstream/} (read in place, never copied
 * into this repository). Tests that need them skip with a clear message when they are absent.
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** The fixture root, or a skipped test when it cannot be found. */
    public static Path upstream() {
        Path p = locate();
        Assumptions.assumeTrue(p != null,
                "upstream fixtures not found: expected ../shared/fixtures/upstream beside the project"
                        + " (or -Dnydus.fixtures=DIR); skipping");
        return p;
    }

    /** A file under the fixture root (skips the test when the root is missing). */
    public static Path upstream(String relative) {
        Path p = upstream().resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), "fixture " + p + " missing; skipping");
        return p;
    }

    private static Path locate() {
        String prop = System.getProperty("nydus.fixtures");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop).normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (int i = 0; i < 5 && dir != null; i++, dir = dir.getParent()) {
            Path c = dir.resolve("../shared/fixtures/upstream").normalize();
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        return null;
    }
}
