package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reads the upstream nydus 2.2 v6 fixture and checks every decoded field that the fixture documents. */
class RafsV6ReaderFixtureTest {
    static final String BLOB_ID = "be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";

    static Path fixture() {
        return Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
    }

    @Test
    void readsTreeOfTheUpstreamFixture() throws Exception {
        RafsTree t = RafsV6Reader.read(fixture());
        assertThat(t.chunkSize).isEqualTo(0x100000);
        assertThat(t.compressor).isEqualTo(CompressionAlgorithm.ZSTD);
        assertThat(t.digester).isEqualTo(DigestAlgorithm.BLAKE3);
        assertThat(t.explicitUidGid).isTrue();

        Node root = t.root;
        assertThat(root.inode().ino).isEqualTo(128);
        assertThat(root.inode().isDirectory()).isTrue();
        assertThat(root.children()).extracting(Node::nameString).containsExactly("lib.rs", "sync_io.rs");

        Inode lib = root.child("lib.rs").inode();
        Inode sync = root.child("sync_io.rs").inode();
        assertThat(lib.isRegular()).isTrue();
        assertThat(lib.size).isEqualTo(16931);
        assertThat(sync.size).isEqualTo(13400);
        assertThat(lib.mode & 0777).isNotZero();
        assertThat(lib.chunks).hasSize(1);
        assertThat(sync.chunks).hasSize(1);

        ChunkRef a = lib.chunks.get(0);
        ChunkRef b = sync.chunks.get(0);
        assertThat(a.blobIndex()).isZero();
        assertThat(a.fileOffset()).isZero();
        assertThat(a.info().uncompressedSize()).isEqualTo(16931);
        assertThat(b.info().uncompressedSize()).isEqualTo(13400);
        assertThat(a.info().uncompressedOffset() % 4096).isZero();
        assertThat(b.info().uncompressedOffset() % 4096).isZero();
        assertThat(a.digest()).hasSize(32).isNotEqualTo(b.digest());
        assertThat(a.info().index()).isNotEqualTo(b.info().index());
        // chunk 0 at 0, chunk 1 at align_up(end of chunk 0, 4096) (spec 6.1)
        ChunkRef first = a.info().index() == 0 ? a : b;
        ChunkRef second = first == a ? b : a;
        assertThat(first.info().uncompressedOffset()).isZero();
        assertThat(second.info().uncompressedOffset())
                .isEqualTo((first.info().uncompressedSize() + 4095L) / 4096 * 4096);
        assertThat(first.info().compressedOffset()).isZero();
        assertThat(second.info().compressedOffset()).isEqualTo(first.info().compressedSize());

        assertThat(t.blobs).hasSize(1);
        BlobInfo bl = t.blobs.get(0);
        assertThat(bl.blobId()).isEqualTo(BLOB_ID);
        assertThat(bl.blobIndex()).isZero();
        assertThat(bl.chunkSize()).isEqualTo(0x100000);
        assertThat(bl.chunkCount()).isEqualTo(2);
        assertThat(bl.compressionAlgo()).isEqualTo(CompressionAlgorithm.ZSTD.id());
        assertThat(bl.digestAlgo()).isEqualTo(DigestAlgorithm.BLAKE3.id());
        assertThat(bl.hasFeature(BlobInfo.FEATURE_ALIGNED)).isTrue();
        assertThat(bl.uncompressedSize()).isEqualTo(second.info().uncompressedOffset()
                + (second.info().uncompressedSize() + 4095L) / 4096 * 4096);
        assertThat(bl.ciUncompressedSize()).isEqualTo(2 * 16);
        assertThat(t.prefetchPaths).isEmpty(); // the fixture has no prefetch table
    }

    @Test
    void rawHeaderFieldsMatchTheFixture() throws Exception {
        byte[] bytes = Files.readAllBytes(fixture());
        ByteBuffer file = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        ErofsSuperBlock sb = ErofsSuperBlock.wrap(file);
        assertThat(sb.rootNid()).isEqualTo(128);
        assertThat(sb.metaBlkaddr()).isEqualTo(2);
        assertThat(sb.inos()).isEqualTo(3);
        assertThat(sb.extraDevices()).isEqualTo(1);
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(file);
        assertThat(ext.flags()).isEqualTo(0x194);
        DeviceSlot d = DeviceSlot.wrap(file, 0);
        assertThat(d.tag()).isEqualTo(BLOB_ID);
        assertThat(d.mappedBlkaddr()).isEqualTo(512);
        assertThat(d.blocks()).isEqualTo(9);
    }

    @Test
    void rejectsV5WithClearMessage() {
        byte[] v5 = new byte[8192];
        ByteBuffer.wrap(v5).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x52414653);
        assertThatThrownBy(() -> RafsV6Reader.read(v5, "v5.boot"))
                .isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("not a RAFS v6 bootstrap")
                .hasMessageContaining("RAFS v5");
    }

    @Test
    void rejectsWrongMagicNamingExpectedAndFound() throws Exception {
        byte[] bytes = Files.readAllBytes(fixture());
        bytes[1024] ^= 0x01;
        assertThatThrownBy(() -> RafsV6Reader.read(bytes, "x.boot"))
                .isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("0xE0F5E1E2").hasMessageContaining("0xE0F5E1E3").hasMessageContaining("x.boot");
    }

    @Test
    void hexOfBlobTocDigestIsPreserved() throws Exception {
        byte[] bytes = Files.readAllBytes(fixture());
        RafsTree t = RafsV6Reader.read(bytes, "fixture");
        byte[] raw = new byte[32];
        System.arraycopy(bytes, 4096 + BlobTableEntry.BLOB_TOC_DIGEST_OFFSET, raw, 0, 32);
        assertThat(HexFormat.of().formatHex(t.blobs.get(0).tocDigest())).isEqualTo(HexFormat.of().formatHex(raw));
    }
}
