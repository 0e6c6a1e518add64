package dev.nydus4j.testkit;

import dev.nydus4j.api.FileType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;

class TreeGeneratorTest {
    @TempDir
    Path tmp;

    @Test
    void sameSeedGivesIdenticalSnapshots() throws Exception {
        long seed = System.nanoTime();
        TreeGenerator.generate(tmp.resolve("a"), TreeGenerator.options().seed(seed).chunkSize(4096));
        TreeGenerator.generate(tmp.resolve("b"), TreeGenerator.options().seed(seed).chunkSize(4096));
        TreeSnapshot a = TreeSnapshot.of(tmp.resolve("a"));
        TreeSnapshot b = TreeSnapshot.of(tmp.resolve("b"));
        // the roots were created by @TempDir/createDirectories at different times; everything else is seeded
        assertThat(a.diff(b, TreeSnapshot.Field.DIR_MTIME)).isEmpty();
        assertThat(a.without("/").entries()).hasSize(a.entries().size() - 1).doesNotContainKey("/");
        assertThat(a.without("/links").entries().keySet()).noneMatch(k -> k.startsWith("/links"))
                .contains("/files");
    }

    @Test
    void generatedTreeHasTheAdvertisedFeatures() throws Exception {
        TreeGenerator.Generated g = TreeGenerator.generate(tmp.resolve("t"),
                TreeGenerator.options().chunkSize(4096).bigDirectory(300));
        TreeSnapshot s = TreeSnapshot.of(g.root());
        assertThat(s.get("/files/empty").size()).isZero();
        assertThat(s.get("/files/random-8315").size()).isEqualTo(2 * 4096 + 123);
        assertThat(s.get("/dup/a.bin").sha256()).isEqualTo(s.get("/dup/b.bin").sha256());
        assertThat(s.get("/links/hl1").linkGroup()).isEqualTo("/links/hl1");
        assertThat(s.get("/links/orig").linkGroup()).isEqualTo("/links/hl1");
        assertThat(s.get("/links/other/hl2").nlink()).isEqualTo(3);
        assertThat(s.get("/symlinks/len-4095").target()).hasSize(4095);
        assertThat(s.get("/symlinks/len-4095").size()).isEqualTo(4095);
        assertThat(s.get("/symlinks/dangling").type()).isEqualTo(FileType.SYMLINK);
        assertThat(s.get("/modes/setuid").mode()).isEqualTo(04755);
        assertThat(s.get("/modes/sticky").mode()).isEqualTo(01777);
        assertThat(s.get("/big/entry-00299")).isNotNull();
        assertThat(s.get("/special/fifo").type()).isEqualTo(FileType.FIFO);
        assertThat(s.entries().values()).anyMatch(e -> e.mtimeNsec() != 0);
        if (s.get("/xattrs/user").xattrs().containsKey("user.a")) {
            assertThat(s.get("/xattrs/user").xattrs()).containsEntry("user.a", "31").containsKey("user.empty");
            assertThat(s.get("/xattrs/many").xattrs()).hasSize(20);
        }
        if (g.privileged()) {
            assertThat(s.get("/special/null").type()).isEqualTo(FileType.CHAR_DEVICE);
            assertThat(s.get("/special/null").rdev()).isEqualTo(0x103);
            // major 259 minor 70000 in the Linux "new" encoding
            assertThat(s.get("/special/blk-big").rdev())
                    .isEqualTo((70000 & 0xff) | (259 << 8) | ((70000 & ~0xff) << 12));
            assertThat(s.get("/modes/owned-big").uid()).isEqualTo(123456);
            assertThat(s.get("/modes/setuid-owned").mode()).isEqualTo(06755);
            assertThat(s.get("/xattrs/user").xattrs()).containsKeys("trusted.t", "security.s");
            assertThat(s.get("/xattrs/link-with-xattr").xattrs()).containsKey("trusted.on-symlink");
        }
    }

    @Test
    void diffReportsEveryChangedField() throws Exception {
        Path r = tmp.resolve("t");
        TreeGenerator.generate(r, TreeGenerator.options().chunkSize(4096).specialFiles(false));
        TreeSnapshot before = TreeSnapshot.of(r);
        Files.writeString(r.resolve("files/one-byte"), "y");
        Files.setLastModifiedTime(r.resolve("files/one-byte"),
                Files.getLastModifiedTime(r.resolve("files/one-byte").resolveSibling("empty")));
        Files.setAttribute(r.resolve("modes/exec"), "unix:mode", 0755, LinkOption.NOFOLLOW_LINKS);
        Files.delete(r.resolve("links/hl1"));
        Files.write(r.resolve("names/new"), "n".getBytes(StandardCharsets.UTF_8));
        Files.setLastModifiedTime(r.resolve("deep"), FileTime.fromMillis(0));
        TreeSnapshot after = TreeSnapshot.of(r);
        var d = after.diff(before, TreeSnapshot.Field.DIR_MTIME);
        assertThat(d).anyMatch(l -> l.startsWith("/files/one-byte: content"))
                .anyMatch(l -> l.startsWith("/files/one-byte: mtime"))
                .anyMatch(l -> l.equals("/modes/exec: mode expected 0755 but was 0700"))
                .anyMatch(l -> l.startsWith("/links/orig: nlink expected 2 but was 3"))
                .anyMatch(l -> l.startsWith("/links/orig: link_group"))
                .anyMatch(l -> l.startsWith("missing in actual: /names/new"))
                .anyMatch(l -> l.startsWith("unexpected in actual: /links/hl1"))
                .noneMatch(l -> l.startsWith("/deep:"));
        assertThat(after.diff(before, TreeSnapshot.Field.values()))
                .allMatch(l -> l.startsWith("missing") || l.startsWith("unexpected"));
    }
}
