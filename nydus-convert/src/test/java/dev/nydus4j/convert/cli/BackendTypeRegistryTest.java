package dev.nydus4j.convert.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --backend-type registry} is upstream's default for {@code nydusify mount} and {@code check} and users spell
 * it out: it means the image's own registry, with no config. It used to fail with "--backend-type registry needs
 * --backend-config".
 */
class BackendTypeRegistryTest {
    @Test
    void registryTypeWithoutConfigMeansTheImagesOwnRegistry() throws Exception {
        assertThat(CheckCommand.externalBackend("registry", null, null)).isNull();
        assertThat(CheckCommand.externalBackend("Registry", null, null)).isNull();
        assertThat(CheckCommand.externalBackend(null, null, null)).isNull();
        assertThatThrownBy(() -> CheckCommand.externalBackend("registry", "{\"host\":\"x\"}", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leave the config out");
        assertThat(CheckCommand.externalBackend("localfs", "{\"dir\":\"/tmp\"}", null)).isNotNull();
    }

    @Test
    void checkWithBackendTypeRegistryGetsToTheImage(@TempDir Path tmp) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = NydusifyCommand.execute(new String[]{"check", "--target", "oci:" + tmp.resolve("no-layout") + ":v1",
                        "--backend-type", "registry", "--work-dir", tmp.resolve("work").toString()},
                new PrintWriter(out), new PrintWriter(err), new ByteArrayInputStream(new byte[0]));
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString()).doesNotContain("--backend-config").contains("no-layout");
    }
}
