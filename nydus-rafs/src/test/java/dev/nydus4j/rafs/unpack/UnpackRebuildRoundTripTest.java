package dev.nydus4j.rafs.unpack;

import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.check.ImageChecker;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * image → {@link TarUnpacker} → builder (tar source) → v6 image: the rebuilt image serves the same tree, and the
 * checker accepts it with every chunk verified. Ties the unpacker to the builder, the v6 writer/reader and the
 * storage blob layout.
 */
class UnpackRebuildRoundTripTest {

    @Test
    void v5FixtureSurvivesUnpackAndRebuild(@TempDir Path tmp) throws Exception {
        Path boot = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        try (RafsImage original = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("repeatable/blobs")))) {
            roundTrip(original, tmp);
        }
    }

    @Test
    void syntheticImageSurvivesUnpackAndRebuild(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(Files.createDirectories(tmp.resolve("src")), 21, true);
        try (RafsImage original = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            roundTrip(original, tmp);
        }
    }

    private static void roundTrip(RafsFileSystem original, Path tmp) throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        TarUnpacker.unpack(original, tar);
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path rebuilt = tmp.resolve("rebuilt.boot");
        BuildResult r = new ImageBuilder(BuildOptions.defaults())
                .build(new ByteArrayInputStream(tar.toByteArray()), rebuilt, null, blobs);
        try (RafsImage again = RafsImage.open(rebuilt, LocalChunkReader.forDirectory(blobs))) {
            assertThat(TreeSnapshot.of(original).without("/").diff(TreeSnapshot.of(again).without("/"))).isEmpty();
        }
        ImageChecker.Report report = ImageChecker.check(rebuilt, blobs);
        assertThat(report.version()).isEqualTo(6);
        assertThat(report.chunksVerified()).isPositive();
        assertThat(report.blobs()).extracting(ImageChecker.BlobReport::blobId).contains(r.newBlobId());
    }
}
