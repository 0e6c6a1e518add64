package dev.nydus4j.storage.blob;

import com.github.luben.zstd.ZstdInputStream;
import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The upstream-built blobs parse, verify and decode (RAFS spec 6, fixture facts in the spec). */
class UpstreamBlobFixtureTest {
    static final String V6_BLOB = "blobs/be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";
    static final String TOC_BLOB = "toc/2fa78cad554b75ac91a4a125ed148d0ddeb25efa4aaa8bd80e5dc292690a4dca";
    static final String TOC_ZST = "zstd/2fa78cad554b75ac91a4a125ed148d0ddeb25efa4aaa8bd80e5dc292690a4dca.zst";

    @Test
    void v6BlobSectionsWalkBackToZero() throws Exception {
        try (BlobFile f = BlobFile.open(Fixtures.upstream(V6_BLOB))) {
            assertThat(f.size()).isEqualTo(14554);
            assertThat(f.sections()).containsExactly(
                    new BlobFile.Section("image.blob", 0, 7802),
                    new BlobFile.Section("blob.meta", 8314, 4128),
                    new BlobFile.Section("blob.digest", 12954, 64),
                    new BlobFile.Section("rafs.blob.toc", 13530, 512));
            assertThat(f.toc()).isPresent();
            assertThat(f.toc().get().entries()).extracting(BlobToc.Entry::name)
                    .containsExactly("image.blob", "blob.meta", "blob.meta.header", "blob.digest");
            assertThat(f.tocSize()).isEqualTo(1024);
            f.verifyToc();
            assertThat(f.inlinedBootstrap()).isEmpty();
        }
    }

    @Test
    void v6BlobTarHeadersReencodeToTheExactUpstreamBytes() throws Exception {
        Path p = Fixtures.upstream(V6_BLOB);
        byte[] all = Files.readAllBytes(p);
        try (BlobFile f = BlobFile.open(p)) {
            for (BlobFile.Section s : f.sections()) {
                byte[] upstream = Arrays.copyOfRange(all, (int) s.headerOffset(), (int) s.headerOffset() + 512);
                assertThat(new TarHeader(s.name(), s.size()).encode()).as(s.name()).isEqualTo(upstream);
            }
        }
    }

    @Test
    void v6BlobMetaHeaderAndChunkInfosDecode() throws Exception {
        Path p = Fixtures.upstream(V6_BLOB);
        byte[] all = Files.readAllBytes(p);
        try (BlobFile f = BlobFile.open(p)) {
            BlobMetaHeader h = f.metaHeader().orElseThrow();
            assertThat(h).isEqualTo(new BlobMetaHeader(0x7000_0021, 0, 2, 8314, 32, 32, 0, 0, 0));
            int at = 8314 + 32;
            assertThat(h.encode()).isEqualTo(Arrays.copyOfRange(all, at, at + 4096));

            BlobInfo info = f.describe(1 << 20, CompressionAlgorithm.ZSTD.id(), DigestAlgorithm.BLAKE3.id());
            assertThat(info.uncompressedSize()).isEqualTo(36864);
            assertThat(info.tocSize()).isEqualTo(1024);
            List<ChunkInfo> chunks = f.chunkInfos(info);
            assertThat(chunks).hasSize(2);
            assertThat(chunks).extracting(ChunkInfo::uncompressedSize).containsExactly(16931, 13400);
            assertThat(chunks).extracting(ChunkInfo::uncompressedOffset).containsExactly(0L, 20480L);
            assertThat(chunks.get(0).compressedOffset()).isZero();
            assertThat(chunks.get(1).compressedOffset()).isEqualTo(chunks.get(0).compressedSize());
            assertThat(chunks.get(1).compressedOffset() + chunks.get(1).compressedSize()).isEqualTo(7802);
            assertThat(chunks).allMatch(ChunkInfo::compressed);
            assertThat(f.chunkInfos()).isEqualTo(chunks);

            // v1 encoding of what we decoded reproduces the upstream bytes.
            byte[] reenc = new byte[32];
            for (ChunkInfo c : chunks) {
                ChunkInfoV1.encode(c, reenc, c.index() * 16);
            }
            assertThat(reenc).isEqualTo(Arrays.copyOfRange(all, 8314, 8314 + 32));

            assertThat(f.blobMetaCacheBytes()).isEqualTo(f.blobMetaCacheBytes(info));
            byte[] cache = f.blobMetaCacheBytes(info);
            assertThat(cache).hasSize(8192);
            assertThat(Arrays.copyOf(cache, 32)).isEqualTo(reenc);
            assertThat(Arrays.copyOfRange(cache, 32, 4096)).containsOnly(0);
            assertThat(Arrays.copyOfRange(cache, 4096, 8192)).isEqualTo(h.encode());

            byte[][] digests = f.chunkDigests();
            assertThat(digests).hasNumberOfRows(2);
            try (LocalChunkReader r = LocalChunkReader.forFile(p)) {
                for (ChunkInfo c : chunks) {
                    byte[] dst = new byte[1 << 20];
                    r.readChunk(info, c, digests[c.index()], dst);
                    assertThat(DigestAlgorithm.BLAKE3.digest(dst, 0, c.uncompressedSize()))
                            .isEqualTo(digests[c.index()]);
                }
            }
        }
    }

    @Test
    void v6BlobFileHashDiffersFromItsIdAsTheSpecSays() throws Exception {
        try (BlobFile f = BlobFile.open(Fixtures.upstream(V6_BLOB))) {
            assertThat(f.sha256Hex()).startsWith("4b16fb");
        }
    }

    @Test
    void tocBlobInlinedBootstrapExtracts() throws Exception {
        try (BlobFile f = BlobFile.open(Fixtures.upstream(TOC_BLOB))) {
            assertThat(f.sections()).extracting(BlobFile.Section::name)
                    .containsExactly("image.blob", "blob.meta", "image.boot", "rafs.blob.toc");
            f.verifyToc();
            byte[] boot = f.inlinedBootstrap().orElseThrow();
            assertThat(boot).hasSize(20480);
            assertThat(Arrays.copyOf(boot, 1024)).containsOnly(0);
            assertThat(ByteBuffer.wrap(boot, 1024, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(0xE0F5E1E2);
            BlobMetaHeader h = f.metaHeader().orElseThrow();
            assertThat(h.ciEntries()).isEqualTo(3);
            assertThat(h.ciCompressor()).isZero();
            assertThat(f.chunkInfos()).hasSize(3);
            assertThat(f.chunkDigests()).isEmpty();
        }
    }

    @Test
    void legacyBlobsWithoutTrailerOpenAsSectionless() throws Exception {
        for (String name : new String[] {
            "repeatable/blobs/7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00",
            "repeatable/blobs/d7b86b1e74e316fe945741d1a9fa1b271459fe41481e304977659e0c6ecf56ac"}) {
            try (BlobFile f = BlobFile.open(Fixtures.upstream(name))) {
                assertThat(f.sections()).isEmpty();
                assertThat(f.toc()).isEmpty();
                assertThat(f.tocSize()).isZero();
                assertThat(f.metaHeader()).isEmpty();
                assertThat(f.inlinedBootstrap()).isEmpty();
                assertThat(f.chunkDigests()).isEmpty();
                f.verifyToc();
                assertThatThrownBy(f::chunkInfos).isInstanceOf(CorruptImageException.class)
                        .hasMessageContaining("no blob.meta");
            }
        }
    }

    @Test
    void zstdFixtureDecompressesToTheTocBlob() throws Exception {
        byte[] expected = Files.readAllBytes(Fixtures.upstream(TOC_BLOB));
        try (InputStream in = new ZstdInputStream(Files.newInputStream(Fixtures.upstream(TOC_ZST)))) {
            assertThat(in.readAllBytes()).isEqualTo(expected);
        }
        assertThat(HexFormat.of().formatHex(BlobWriter.sha256(expected, 0, expected.length)))
                .isEqualTo("2fa78cad554b75ac91a4a125ed148d0ddeb25efa4aaa8bd80e5dc292690a4dca");
    }
}
