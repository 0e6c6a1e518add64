package dev.nydus4j.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Upstream's logger appends ".log" to a --log-file name without an extension; ours does the same. */
class LogSettingsTest {
    @Test
    void aNameWithoutExtensionGetsDotLog() {
        assertThat(LogSettings.withLogExtension("/var/log/nydusd")).isEqualTo("/var/log/nydusd.log");
        assertThat(LogSettings.withLogExtension("nydusd")).isEqualTo("nydusd.log");
        assertThat(LogSettings.withLogExtension("/run/a.b/nydusd")).isEqualTo("/run/a.b/nydusd.log");
        assertThat(LogSettings.withLogExtension("/tmp/.hidden")).isEqualTo("/tmp/.hidden.log");
    }

    @Test
    void aNameWithAnExtensionIsKept() {
        assertThat(LogSettings.withLogExtension("/var/log/nydusd.log")).isEqualTo("/var/log/nydusd.log");
        assertThat(LogSettings.withLogExtension("/var/log/nydusd.txt")).isEqualTo("/var/log/nydusd.txt");
        assertThat(LogSettings.withLogExtension("d.1")).isEqualTo("d.1");
    }
}
