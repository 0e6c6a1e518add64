package dev.nydus4j.fuse;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The latest-read-files export in upstream's inode-bitmap form (runs), which upstream's tools parse as [][]uint64. */
class FsMetricsTest {
    @Test
    void latestReadFilesAreAscendingRunsAndTheSetIsDrained() {
        FsMetrics m = new FsMetrics("/", false, false, true);
        for (long ino : new long[]{10, 1, 3, 2, 5, 4, 8, 100, 101, 102, 199}) {
            m.file(ino, FsMetrics.Op.READ, true, 4096);
        }
        m.file(50, FsMetrics.Op.READ, false, 0); // a failed read is no read
        m.file(60, FsMetrics.Op.GETATTR, true, 0);
        assertThat(m.drainLatestRead()).isEqualTo(List.of(List.of(1L, 5L), List.of(8L), List.of(10L),
                List.of(100L, 102L), List.of(199L)));
        assertThat(m.drainLatestRead()).isEmpty();
        m.file(7, FsMetrics.Op.READ, true, 1);
        assertThat(m.drainLatestRead()).isEqualTo(List.of(List.of(7L)));
    }

    @Test
    void nothingIsKeptUnlessEnabled() {
        FsMetrics m = new FsMetrics("/", false, false, false);
        m.file(1, FsMetrics.Op.READ, true, 1);
        assertThat(m.drainLatestRead()).isEmpty();
    }
}
