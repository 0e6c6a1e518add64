package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.rafs.v6.RafsV6Writer;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BootstrapsTest {

    @Test
    void detectsVersionsByMagic() throws Exception {
        assertThat(Bootstraps.version(Fixtures.upstream("repeatable/sha256-nocompress-repeatable"))).isEqualTo(5);
        assertThat(Bootstraps.version(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot"))).isEqualTo(6);
    }

    @Test
    void rejectsNeitherWithClearMessage(@TempDir Path tmp) throws Exception {
        Path junk = tmp.resolve("junk.boot");
        Files.write(junk, new byte[5000]);
        assertThatThrownBy(() -> Bootstraps.read(junk)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("not a RAFS bootstrap: no RAFS v5 magic at 0 and no EROFS magic at 1024 of " + junk);
        Path tiny = tmp.resolve("tiny");
        Files.write(tiny, new byte[]{1, 2});
        assertThatThrownBy(() -> Bootstraps.version(tiny)).isInstanceOf(CorruptImageException.class);
        assertThatThrownBy(() -> Bootstraps.read(new byte[0], "empty")).isInstanceOf(CorruptImageException.class);
    }

    @Test
    void generatedTreeWrittenAsV6ServesTheSameView(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 9, true);
        Path v6 = tmp.resolve("v6.boot");
        RafsV6Writer.write(img.tree, v6);
        assertThat(Bootstraps.version(v6)).isEqualTo(6);
        try (RafsImage mem = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile));
             RafsImage disk = RafsImage.open(v6, DirectoryChunkReader.forFile(img.blobFile))) {
            assertThat(TreeSnapshot.of(mem).diff(TreeSnapshot.of(disk))).isEmpty();
            assertThat(disk.stats().version()).isEqualTo(6);
            // directory sizes computed for the in-memory tree agree with what the writer stored
            assertThat(disk.getattr(disk.rootInode()).size()).isEqualTo(mem.getattr(mem.rootInode()).size());
        }
    }
}
