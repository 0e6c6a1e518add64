package dev.nydus4j.snapshotter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Persistence, crash leftovers, corruption and bounds of the metadata store. */
class MetaStoreTest {
    @TempDir
    Path tmp;
    private final Clock clock = Clock.fixed(Instant.parse("2026-05-01T10:00:00.123456789Z"), ZoneOffset.UTC);

    @Test
    void reloadsEverythingAfterReopen() throws Exception {
        Path file = tmp.resolve("metadata.json");
        MetaStore s = MetaStore.open(file, clock);
        s.create(s.peekNextId(), "a", "", Kind.ACTIVE, Map.of("k", "v"));
        s.commit("a-c", "a", Map.of("k2", "v2"), new DiskUsage.Usage(1234, 5));
        s.create(s.peekNextId(), "b", "a-c", Kind.VIEW, Map.of());
        MetaStore again = MetaStore.open(file, clock);
        SnapshotRecord c = again.get("a-c");
        assertThat(c.kind()).isEqualTo(Kind.COMMITTED);
        assertThat(c.labels()).isEqualTo(Map.of("k", "v", "k2", "v2"));
        assertThat(c.size()).isEqualTo(1234);
        assertThat(c.inodes()).isEqualTo(5);
        assertThat(c.created()).isEqualTo(clock.instant());
        assertThat(again.get("b").parent()).isEqualTo("a-c");
        assertThat(again.ancestors(again.get("b"))).extracting(SnapshotRecord::key).containsExactly("a-c");
        assertThat(again.peekNextId()).isEqualTo(3);
    }

    @Test
    void removedIdsAreNotReused() throws Exception {
        Path file = tmp.resolve("metadata.json");
        MetaStore s = MetaStore.open(file, clock);
        s.create(s.peekNextId(), "a", "", Kind.ACTIVE, Map.of());
        s.create(s.peekNextId(), "b", "", Kind.ACTIVE, Map.of());
        s.remove("b");
        assertThat(MetaStore.open(file, clock).peekNextId()).isEqualTo(3);
    }

    @Test
    void aTornTempFileFromACrashIsIgnored() throws Exception {
        Path file = tmp.resolve("metadata.json");
        MetaStore s = MetaStore.open(file, clock);
        s.create(s.peekNextId(), "a", "", Kind.ACTIVE, Map.of());
        Files.writeString(tmp.resolve("metadata.json.tmp"), "{\"version\":1,\"next_id\":9,\"snaps");
        MetaStore again = MetaStore.open(file, clock);
        assertThat(again.list()).extracting(SnapshotRecord::key).containsExactly("a");
        again.create(again.peekNextId(), "b", "", Kind.ACTIVE, Map.of()); // overwrites the leftover
        assertThat(MetaStore.open(file, clock).list()).hasSize(2);
    }

    @Test
    void corruptFilesFailWithTheirPath() throws Exception {
        Path file = tmp.resolve("metadata.json");
        Files.writeString(file, "{\"version\":1,\"next_id\":2,\"snapshots\":[{\"id\":1");
        assertThatThrownBy(() -> MetaStore.open(file, clock)).hasMessageContaining(file.toString())
                .hasMessageContaining("move it away");
        Files.writeString(file, "{\"version\":2,\"next_id\":1,\"snapshots\":[]}");
        assertThatThrownBy(() -> MetaStore.open(file, clock)).hasMessageContaining("version 2");
        Files.writeString(file, "{\"version\":1,\"next_id\":1,\"snapshots\":[], \"extra\": 1}");
        assertThatThrownBy(() -> MetaStore.open(file, clock)).hasMessageContaining("extra");
    }

    @Test
    void boundsAreEnforced() throws Exception {
        MetaStore s = MetaStore.open(tmp.resolve("m.json"), clock);
        assertThatThrownBy(() -> s.create(s.peekNextId(), "k".repeat(MetaStore.MAX_KEY_BYTES + 1), "", Kind.ACTIVE,
                Map.of())).isInstanceOf(SnapshotException.class).hasMessageContaining("longer than 4096");
        assertThatThrownBy(() -> s.create(s.peekNextId(), "x", "", Kind.ACTIVE, Map.of("a", "b".repeat(4096))))
                .hasMessageContaining("label a");
        assertThatThrownBy(() -> s.create(s.peekNextId() + 1, "x", "", Kind.ACTIVE, Map.of()))
                .isInstanceOf(IllegalStateException.class);
        assertThat(s.list()).isEmpty();
    }

    @Test
    void aFailedSaveRollsBack() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ro"));
        MetaStore s = MetaStore.open(dir.resolve("m.json"), clock);
        s.create(s.peekNextId(), "a", "", Kind.ACTIVE, Map.of());
        // a directory where the temp file must go makes the next save fail
        Files.createDirectories(dir.resolve("m.json.tmp"));
        assertThatThrownBy(() -> s.create(s.peekNextId(), "b", "", Kind.ACTIVE, Map.of()))
                .isInstanceOf(java.io.IOException.class);
        assertThat(s.find("b")).isEmpty();
        assertThat(s.peekNextId()).isEqualTo(2);
        assertThatThrownBy(() -> s.commit("a-c", "a", Map.of(), DiskUsage.Usage.ZERO))
                .isInstanceOf(java.io.IOException.class);
        assertThat(s.get("a").kind()).isEqualTo(Kind.ACTIVE);
        assertThat(s.find("a-c")).isEmpty();
    }
}
