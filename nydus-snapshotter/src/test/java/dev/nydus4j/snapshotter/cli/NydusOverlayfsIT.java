package dev.nydus4j.snapshotter.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** nydus-overlayfs mounts a real kernel overlay after dropping the Kata-only options (root only). */
class NydusOverlayfsIT {
    @TempDir
    Path tmp;

    @Test
    void mountsOverlayWithoutExtraOption() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
        Path lower = Files.createDirectories(tmp.resolve("lower"));
        Path upper = Files.createDirectories(tmp.resolve("upper"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path target = Files.createDirectories(tmp.resolve("target"));
        Files.writeString(lower.resolve("from-lower"), "lower");
        StringWriter err = new StringWriter();
        int rc = NydusOverlayfs.execute(new String[]{"overlay", target.toString(), "-o", "lowerdir=" + lower
                + ",upperdir=" + upper + ",workdir=" + work + ",extraoption=eyJzb3VyY2UiOiIifQ=="},
                new PrintWriter(new StringWriter()), new PrintWriter(err));
        try {
            assertThat(rc).as(err.toString()).isZero();
            assertThat(Files.readString(target.resolve("from-lower"))).isEqualTo("lower");
            Files.writeString(target.resolve("new"), "upper");
            assertThat(upper.resolve("new")).hasContent("upper");
        } finally {
            new ProcessBuilder("umount", target.toString()).inheritIO().start().waitFor();
        }
    }
}
