package dev.nydus4j.fuse;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Virtual mountpoints from the mount API: normalised, and refused when they could not be a directory name. */
class MountTableTest {
    @Test
    void normalisesSlashes() {
        assertThat(MountTable.normalize("//a///b/")).isEqualTo("/a/b");
        assertThat(MountTable.normalize("/")).isEqualTo("/");
    }

    @Test
    void refusesRelativeDotsControlCharactersAndOverlongNames() {
        assertThatThrownBy(() -> MountTable.normalize("a")).hasMessageContaining("absolute");
        assertThatThrownBy(() -> MountTable.normalize("/a/../b")).hasMessageContaining(". or ..");
        assertThatThrownBy(() -> MountTable.normalize("/a\u0000b")).hasMessageContaining("control characters (code 0 at 2)");
        assertThatThrownBy(() -> MountTable.normalize("/a\nb")).hasMessageContaining("control characters");
        assertThatThrownBy(() -> MountTable.normalize("/" + "x".repeat(256))).hasMessageContaining("255");
        assertThat(MountTable.normalize("/" + "x".repeat(255))).hasSize(256);
    }
}
