package dev.nydus4j.rafs;

import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.storage.LocalChunkReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The contract nydusd's takeover relies on (FsOps.adoptAfterTakeover): in direct mode an inode number is served only
 * once it was found in a directory, and a whole walk ({@link RafsImage#inodeNumbers}) finds every inode reachable
 * from the root, so a daemon that took a FUSE session over can serve the node ids the kernel got from its
 * predecessor; numbers that are no inode of the tree stay unknown after the walk.
 */
class DirectTakeoverWalkTest {
    @Test
    void aWholeWalkMakesEveryReachableInodeServedAndNothingElse(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/a/b/c"));
        Files.writeString(src.resolve("deep.txt"), "deep\n");
        Files.writeString(tmp.resolve("src/top.txt"), "top\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("image.boot");
        new ImageBuilder(BuildOptions.defaults()).build(tmp.resolve("src"), boot, null, blobs);
        long deepIno;
        try (RafsImage first = RafsImage.openDirect(boot, LocalChunkReader.forDirectory(blobs))) {
            deepIno = first.resolve("/a/b/c/deep.txt").orElseThrow().ino(); // what "the previous daemon" handed out
        }
        try (RafsImage fresh = RafsImage.openDirect(boot, LocalChunkReader.forDirectory(blobs))) {
            assertThatThrownBy(() -> fresh.getattr(deepIno)).as("not found in a directory yet")
                    .isInstanceOf(FileNotFoundException.class);
            assertThat(fresh.inodeNumbers()).contains(deepIno);
            InodeAttributes a = fresh.getattr(deepIno);
            assertThat(a.isRegular()).isTrue();
            assertThat(a.size()).isEqualTo(5);
            ByteBuffer b = ByteBuffer.allocate(16);
            assertThat(fresh.read(deepIno, 0, b)).isEqualTo(5);
            assertThat(new String(b.array(), 0, 5, StandardCharsets.UTF_8)).isEqualTo("deep\n");
            long bogus = deepIno + 1_000_000;
            assertThatThrownBy(() -> fresh.getattr(bogus)).as("no inode of the tree")
                    .isInstanceOf(FileNotFoundException.class);
        }
    }
}
