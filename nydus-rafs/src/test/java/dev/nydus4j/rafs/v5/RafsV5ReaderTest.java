package dev.nydus4j.rafs.v5;

import dev.nydus4j.rafs.v6.ChunkRecord;
import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RafsV5ReaderTest {
    private static final String SHA256 = "repeatable/sha256-nocompress-repeatable";
    private static final String BLAKE3 = "repeatable/blake3-lz4_block-non_repeatable";

    @Test
    void structureSizes() {
        assertThat(RafsV5SuperBlock.RESERVED_OFFSET).isEqualTo(80);
        assertThat(RafsV5InodeRecord.RESERVED_OFFSET + 8).isEqualTo(RafsV5InodeRecord.SIZE);
        assertThat(ChunkRecord.CRC32_OFFSET + 4).isEqualTo(ChunkRecord.SIZE);
        assertThat(RafsV5BlobTable.EXT_COMPRESSED_SIZE_OFFSET).isEqualTo(16);
    }

    @Test
    void readsSha256Fixture() throws Exception {
        byte[] bytes = Files.readAllBytes(Fixtures.upstream(SHA256));
        RafsTree tree = RafsV5Reader.read(bytes, SHA256, true);
        assertThat(tree.chunkSize).isEqualTo(0x100000);
        assertThat(tree.compressor).isEqualTo(CompressionAlgorithm.NONE);
        assertThat(tree.digester).isEqualTo(DigestAlgorithm.SHA256);
        assertThat(tree.blobs).hasSize(1);
        assertThat(tree.blobs.get(0).blobId()).isEqualTo("7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00");
        assertThat(tree.blobs.get(0).chunkCount()).isEqualTo(23);
        assertThat(tree.blobs.get(0).compressedSize()).isEqualTo(0x358a1e);
        assertThat(tree.blobs.get(0).compressedSize()).isEqualTo(
                Files.size(Fixtures.upstream("repeatable/blobs/" + tree.blobs.get(0).blobId())));
        Counts c = count(tree);
        assertThat(c.names).isEqualTo(54);
        assertThat(c.byType.get(FileType.DIRECTORY)).isEqualTo(24);
        assertThat(c.byType.get(FileType.SYMLINK)).isEqualTo(7);
        assertThat(c.byType.get(FileType.REGULAR)).isEqualTo(23);
        assertThat(c.distinctInodes).isLessThan(54);
        assertThat(tree.root.child("hardlink-test").child("foo").inode())
                .isSameAs(tree.root.child("hardlink-test").child("test.sh").inode());
        assertThat(tree.root.inode().ino).isEqualTo(1);
        // every chunk of the non-hole files is accounted for: sizes sum to the file size
        for (Node n : c.files) {
            long sum = n.inode().chunks.stream().mapToLong(r -> r.info().uncompressedSize()).sum();
            assertThat(sum).isLessThanOrEqualTo(n.inode().size);
        }
    }

    @Test
    void readsBlake3FixtureWithSameTree() throws Exception {
        RafsTree a = RafsV5Reader.read(Fixtures.upstream(SHA256));
        RafsTree b = RafsV5Reader.read(Fixtures.upstream(BLAKE3));
        assertThat(b.digester).isEqualTo(DigestAlgorithm.BLAKE3);
        assertThat(b.compressor).isEqualTo(CompressionAlgorithm.NONE);
        assertThat(describe(b.root, "")).isEqualTo(describe(a.root, ""));
    }

    @Test
    void rejectsBadMagicVersionAndTruncation() throws Exception {
        byte[] bytes = Files.readAllBytes(Fixtures.upstream(SHA256));
        byte[] bad = bytes.clone();
        bad[0] ^= 1;
        assertThatThrownBy(() -> RafsV5Reader.read(bad, "x")).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("magic").hasMessageContaining("resource=x");
        byte[] v = bytes.clone();
        v[5] = 6;
        assertThatThrownBy(() -> RafsV5Reader.read(v, "x")).hasMessageContaining("version");
        byte[] t = java.util.Arrays.copyOf(bytes, bytes.length - 8);
        assertThatThrownBy(() -> RafsV5Reader.read(t, "x")).isInstanceOf(CorruptImageException.class);
    }

    @Test
    void rejectsInodeDigestMismatchOnlyWhenVerifying() throws Exception {
        byte[] bytes = Files.readAllBytes(Fixtures.upstream(SHA256));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int rootOff = b.getInt(8192) * 8;
        bytes[rootOff] ^= 0x40;
        assertThat(RafsV5Reader.read(bytes, "x").root.children()).isNotEmpty();
        assertThatThrownBy(() -> RafsV5Reader.read(bytes, "x", true)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("inode digest mismatch for index 1");
    }

    @Test
    void rejectsChildListedTwice() throws Exception {
        byte[] bytes = Files.readAllBytes(Fixtures.upstream(SHA256));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        // point inode table entry 3 at entry 2's record: index 2's record is then reachable twice
        b.putInt(8192 + 8, b.getInt(8192 + 4));
        assertThatThrownBy(() -> RafsV5Reader.read(bytes, "x")).isInstanceOf(CorruptImageException.class);
    }

    static String describe(Node n, String path) {
        StringBuilder sb = new StringBuilder();
        var i = n.inode();
        sb.append(path).append(' ').append(Integer.toOctalString(i.mode)).append(' ').append(i.size).append(' ')
                .append(i.chunks.stream().map(ChunkRef::fileOffset).toList()).append('\n');
        for (Node c : n.children()) {
            sb.append(describe(c, path + "/" + c.nameString()));
        }
        return sb.toString();
    }

    private static final class Counts {
        int names;
        int distinctInodes;
        Map<FileType, Integer> byType = new java.util.EnumMap<>(FileType.class);
        List<Node> files = new ArrayList<>();
    }

    private static Counts count(RafsTree tree) {
        Counts c = new Counts();
        IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
        ArrayList<Node> stack = new ArrayList<>(List.of(tree.root));
        while (!stack.isEmpty()) {
            Node n = stack.remove(stack.size() - 1);
            c.names++;
            seen.put(n.inode(), true);
            c.byType.merge(n.inode().type(), 1, Integer::sum);
            if (n.inode().isRegular()) {
                c.files.add(n);
            }
            stack.addAll(n.children());
        }
        c.distinctInodes = seen.size();
        return c;
    }
}
