package dev.nydus4j.rafs.v6;

import dev.nydus4j.rafs.tree.RafsTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * erofs-utils' {@code fsck.erofs} (an implementation independent of the kernel) accepts the written bootstrap with
 * the uncompressed blob image as extra device and extracts files with the expected bytes. No root needed; skipped
 * when erofs-utils is not installed.
 */
class ErofsUtilsFsckTest {

    @Test
    void fsckErofsAcceptsAndExtractsTheImage(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/fsck.erofs")), "erofs-utils (fsck.erofs) not installed;"
                + " skipping");
        long seed = System.nanoTime();
        System.out.println("ErofsUtilsFsckTest seed=" + seed);
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 0x10000);
        RafsTree tree = TestImages.richTree(seed, 0x10000, 2000, blob);
        Path boot = dir.resolve("image.boot");
        Path blobFile = dir.resolve("blob");
        RafsV6Writer.write(tree, boot);
        Files.write(blobFile, blob.bytes());
        KernelErofsMountTest.run("fsck.erofs", "--device=" + blobFile, boot.toString());
        Path out = dir.resolve("extract");
        KernelErofsMountTest.run("fsck.erofs", "--device=" + blobFile, "--extract=" + out, "--no-preserve",
                boot.toString());
        Map<String, String> expected = KernelErofsMountTest.expectedHashes(tree, Map.of(0, blob.bytes()));
        assertThat(KernelErofsMountTest.sha256All(out)).isEqualTo(expected);
    }
}
