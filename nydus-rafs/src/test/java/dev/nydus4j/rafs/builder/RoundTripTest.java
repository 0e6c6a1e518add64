package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Source → image → source comparisons through other tools: GNU tar layers and an upstream-built image. */
class RoundTripTest {
    @TempDir
    Path tmp;

    @Test
    void gnuTarOfAGeneratedTreeBuildsTheSameTree() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tar")), "needs GNU tar");
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().chunkSize(4096).bigDirectory(500));
        Path layer = tmp.resolve("layer.tar");
        // tar skips sockets; POSIX format keeps nanosecond mtimes and all xattrs
        Process p = new ProcessBuilder("tar", "--format=posix", "--xattrs", "--xattrs-include=*", "--numeric-owner",
                "-C", src.toString(), "-cf", layer.toString(), ".").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();

        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        Path boot = tmp.resolve("boot");
        new ImageBuilder(BuildOptions.defaults().withChunkSize(4096).withSourceType(SourceType.TAR))
                .build(layer, boot, null, blobs);
        TreeSnapshot expected = TreeSnapshot.of(src).without("/special/socket");
        TreeSnapshot actual = ImageBuilderDirectoryTest.snapshotOfImage(boot, blobs);
        // includes binary and empty xattr values, which travel as raw PAX records
        assertThat(expected.diff(actual)).isEmpty();
        assertThat(actual.get("/xattrs/user").xattrs()).containsKeys("user.binary", "user.empty");
    }

    @Test
    void upstreamImageAsChunkDictionary() throws Exception {
        Path upstreamBoot = Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
        Path upstreamBlobs = Fixtures.upstream("blobs");
        // recreate the upstream image's source files from the image itself
        Path src = Files.createDirectory(tmp.resolve("src"));
        try (RafsImage img = RafsImage.open(upstreamBoot, LocalChunkReader.forDirectory(upstreamBlobs))) {
            for (String name : List.of("lib.rs", "sync_io.rs")) {
                InodeAttributes a = img.resolve("/" + name).orElseThrow();
                ByteBuffer buf = ByteBuffer.allocate((int) a.size());
                while (buf.hasRemaining() && img.read(a.ino(), buf.position(), buf) > 0) {
                    // read until full
                }
                Files.write(src.resolve(name), buf.array());
            }
        }
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withChunkDictBootstrap(upstreamBoot))
                .build(src, tmp.resolve("boot"), null, blobs);
        // our chunking and blake3 digests match upstream's, so every chunk comes from the dictionary
        assertThat(r.newBlobId()).isNull();
        RafsTree dict = dev.nydus4j.rafs.Bootstraps.read(upstreamBoot);
        assertThat(r.blobIds()).containsExactly(dict.blobs.get(0).blobId());
        assertThat(r.tree().root.child("lib.rs").inode().chunks).extracting(ChunkRef::blobIndex).containsOnly(0);
        try (RafsImage img = RafsImage.open(tmp.resolve("boot"), LocalChunkReader.forDirectory(upstreamBlobs))) {
            TreeSnapshot s = TreeSnapshot.of(img);
            TreeSnapshot e = TreeSnapshot.of(src);
            assertThat(s.get("/lib.rs").sha256()).isEqualTo(e.get("/lib.rs").sha256());
            assertThat(s.get("/sync_io.rs").sha256()).isEqualTo(e.get("/sync_io.rs").sha256());
        }
    }
}
