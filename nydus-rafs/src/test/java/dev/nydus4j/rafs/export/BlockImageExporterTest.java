package dev.nydus4j.rafs.export;

import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

class BlockImageExporterTest {

    @Test
    void upstreamFixtureWithVerityMatchesUpstreamTestVector(@TempDir Path dir) throws Exception {
        Path boot = Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
        Path blobs = Fixtures.upstream("blobs");
        Path out = dir.resolve("flat.img");
        BlockImageExporter.Result r;
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(blobs)) {
            r = BlockImageExporter.export(boot, reader, out, true);
        }
        byte[] bytes = Files.readAllBytes(out);
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)))
                .isEqualTo("5684c330c622350c12d633d0773201f862b9955375d806670e1aaf36ef038b31");
        // mapped_blkaddr 512 + 9 blocks
        assertThat(r.imageSize()).isEqualTo((512 + 9) * 4096L);
        assertThat(r.totalSize()).isEqualTo(bytes.length);
        assertThat(r.rootHash()).hasSize(32);
        // 521 data blocks -> 5 level-0 hash blocks -> 1 top block
        assertThat(r.totalSize() - r.imageSize()).isEqualTo(6 * 4096L);
        byte[] top = java.util.Arrays.copyOfRange(bytes, (int) r.imageSize(), (int) r.imageSize() + 4096);
        assertThat(MessageDigest.getInstance("SHA-256").digest(top)).isEqualTo(r.rootHash());
    }

    @Test
    void withoutVerityTheImageEndsAfterTheLastBlob(@TempDir Path dir) throws Exception {
        Path boot = Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
        Path out = dir.resolve("flat.img");
        BlockImageExporter.Result r;
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(Fixtures.upstream("blobs"))) {
            r = BlockImageExporter.export(boot, reader, out, false);
        }
        assertThat(Files.size(out)).isEqualTo((512 + 9) * 4096L);
        assertThat(r.rootHash()).isNull();
        byte[] img = Files.readAllBytes(out);
        byte[] bootBytes = Files.readAllBytes(boot);
        assertThat(java.util.Arrays.copyOf(img, bootBytes.length)).isEqualTo(bootBytes);
    }
}
