package dev.nydus4j.cli.image;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class VerityLayoutTest {
    @Test
    void hashBlocksFollowsTheDmVerityTreeShape() {
        assertThat(VerityLayout.hashBlocks(1)).isZero();
        assertThat(VerityLayout.hashBlocks(2)).isEqualTo(1);
        assertThat(VerityLayout.hashBlocks(128)).isEqualTo(1);
        assertThat(VerityLayout.hashBlocks(129)).isEqualTo(2 + 1);
        assertThat(VerityLayout.hashBlocks(128 * 128)).isEqualTo(128 + 1);
        assertThat(VerityLayout.hashBlocks(128 * 128 + 1)).isEqualTo(129 + 2 + 1);
    }
}
