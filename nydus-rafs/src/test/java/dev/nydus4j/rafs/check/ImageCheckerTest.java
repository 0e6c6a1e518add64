package dev.nydus4j.rafs.check;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ImageCheckerTest {
    private static final String V5 = "repeatable/sha256-nocompress-repeatable";
    private static final String V5_BLOB = "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00";

    @Test
    void v5FixtureMetadataAndData() throws Exception {
        ImageChecker.Report meta = ImageChecker.check(Fixtures.upstream(V5));
        assertThat(meta.version()).isEqualTo(5);
        assertThat(meta.blobsChecked()).isZero();
        assertThat(meta.blobs()).singleElement().satisfies(b -> {
            assertThat(b.blobId()).isEqualTo(V5_BLOB);
            assertThat(b.chunkCount()).isEqualTo(23);
            assertThat(b.chunkSize()).isEqualTo(1 << 20);
            assertThat(b.compressedSize()).isEqualTo(0x358a1e);
        });
        assertThat(meta.toText()).startsWith("RAFS filesystem metadata is valid, referenced data blobs: \n\t 0: " + V5_BLOB
                + ", compressed data size 0x358a1e, compressed file size 0x358a1e, uncompressed file size 0x358a1e, chunks: 0x17,"
                + " features: \n");

        ImageChecker.Report full = ImageChecker.check(Fixtures.upstream(V5), Fixtures.upstream("repeatable/blobs"));
        assertThat(full.blobsChecked()).isEqualTo(1);
        assertThat(full.chunksVerified()).isEqualTo(23);
        assertThat(full.bytesVerified()).isEqualTo(0x358a1e);
        // the blake3 twin verifies against the same blob with blake3 digests
        ImageChecker.Report b3 = ImageChecker.check(Fixtures.upstream("repeatable/blake3-lz4_block-non_repeatable"),
                Fixtures.upstream("repeatable/blobs"));
        assertThat(b3.chunksVerified()).isEqualTo(23);
    }

    @Test
    void v6FixtureWithBlobMetaCrossCheck() throws Exception {
        ImageChecker.Report r = ImageChecker.check(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot"), Fixtures.upstream("blobs"));
        assertThat(r.version()).isEqualTo(6);
        assertThat(r.inodes()).isEqualTo(3);
        assertThat(r.blobsChecked()).isEqualTo(1);
        assertThat(r.chunksVerified()).isEqualTo(2);
        assertThat(r.bytesVerified()).isEqualTo(16931 + 13400);
        assertThat(r.blobs().get(0).featureNames())
                .containsExactly("aligned", "cap_toc", "chunk-digest", "tar-header", "toc");
        assertThat(r.toText()).contains("\t 0: be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef, compressed data size 0x");
        System.out.print(r.toText());
    }

    @Test
    void corruptedBlobFailsDataCheck(@TempDir Path tmp) throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        byte[] blob = Files.readAllBytes(Fixtures.upstream("repeatable/blobs/" + V5_BLOB));
        blob[1000] ^= 0x10;
        Files.write(blobs.resolve(V5_BLOB), blob);
        assertThatThrownBy(() -> ImageChecker.check(Fixtures.upstream(V5), blobs))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining(V5_BLOB);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> ImageChecker.check(Fixtures.upstream(V5), empty)).isInstanceOf(FileNotFoundException.class);
    }

    @Test
    void corruptedInodeDigestFailsMetadataCheck(@TempDir Path tmp) throws Exception {
        byte[] boot = Files.readAllBytes(Fixtures.upstream(V5));
        int rootOff = java.nio.ByteBuffer.wrap(boot).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(8192) * 8;
        boot[rootOff + 5] ^= 1;
        Path p = tmp.resolve("boot");
        Files.write(p, boot);
        assertThatThrownBy(() -> ImageChecker.check(p)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("inode digest mismatch");
    }
}
