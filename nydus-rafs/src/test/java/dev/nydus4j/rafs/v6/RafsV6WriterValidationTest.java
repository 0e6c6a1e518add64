package dev.nydus4j.rafs.v6;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.blob.BlobInfo;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Inputs the writer must refuse with an IllegalArgumentException naming the offending path or blob. */
class RafsV6WriterValidationTest {

    private static RafsTree small() {
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 0x10000);
        Node root = new Node(new byte[0], TestImages.inode(TestImages.S_IFDIR | 0755, 0, 0, 0, 0));
        RafsTree t = new RafsTree(root);
        t.chunkSize = 0x10000;
        Node d = TestImages.dir(root, "d", 0755);
        TestImages.file(d, "f", blob, "data".getBytes(StandardCharsets.UTF_8));
        t.blobs.add(blob.finish());
        return t;
    }

    @Test
    void rejectsNamesWithSlashNulOrTooLong() {
        RafsTree t = small();
        t.root.child("d").putChild(new Node("a/b", TestImages.inode(TestImages.S_IFIFO | 0644, 0, 0, 0, 0)));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/d/a/b").hasMessageContaining("'/'");
        RafsTree t2 = small();
        t2.root.putChild(new Node("x".repeat(256), TestImages.inode(TestImages.S_IFIFO | 0644, 0, 0, 0, 0)));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1..255 bytes, got 256");
        RafsTree t3 = small();
        t3.root.putChild(new Node(new byte[] {'a', 0}, TestImages.inode(TestImages.S_IFIFO | 0644, 0, 0, 0, 0)));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NUL");
    }

    @Test
    void rejectsBadSymlinks() {
        RafsTree t = small();
        TestImages.symlink(t.root.child("d"), "long", 4097);
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/d/long").hasMessageContaining("1..4096");
        RafsTree t2 = small();
        Inode empty = TestImages.inode(TestImages.S_IFLNK | 0777, 0, 0, 0, 0);
        empty.symlinkTarget = new byte[0];
        t2.root.putChild(new Node("empty", empty));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/empty");
    }

    @Test
    void rejectsUnsupportedXattrPrefixAndHugeValues() {
        RafsTree t = small();
        t.root.child("d").child("f").inode().xattrs.put("os2.foo", new byte[1]);
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("os2.foo").hasMessageContaining("/d/f");
        RafsTree t2 = small();
        t2.root.inode().xattrs.put("user.big", new byte[65536]);
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("65535");
    }

    @Test
    void rejectsTooManyBlobsAndHugeChunkIndexes() {
        RafsTree t = small();
        BlobInfo b = t.blobs.get(0);
        for (int i = 1; i < 255; i++) {
            t.blobs.add(b.withIdAndIndex(String.format("%064x", i), i));
        }
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("254 blobs");

        RafsTree t2 = small();
        BlobInfo big = t2.blobs.get(0);
        t2.blobs.set(0, new BlobInfo(big.blobId(), 0, big.chunkSize(), 1 << 25, 0, 1, big.features(),
                big.compressedSize(), big.uncompressedSize(), 0, 0, 0, 0, 0, new byte[32], new byte[32], 0));
        Inode f = t2.root.child("d").child("f").inode();
        ChunkRef c = f.chunks.get(0);
        ChunkInfo i = c.info();
        f.chunks.set(0, new ChunkRef(0, c.digest(), new ChunkInfo(1 << 24, i.compressedOffset(), i.compressedSize(),
                i.uncompressedOffset(), i.uncompressedSize(), false, 0), 0));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("chunk 0 of '/d/f'").hasMessageContaining("2^24");
    }

    @Test
    void rejectsInconsistentChunks() {
        RafsTree t = small();
        Inode f = t.root.child("d").child("f").inode();
        f.size = 5;
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'/d/f'").hasMessageContaining("5 plain bytes");

        RafsTree t2 = small();
        Inode f2 = t2.root.child("d").child("f").inode();
        ChunkRef c = f2.chunks.get(0);
        byte[] otherDigest = Arrays.copyOf(c.digest(), 32);
        otherDigest[0] ^= 1;
        Inode g = TestImages.inode(TestImages.S_IFREG | 0644, 0, 0, 0, 0);
        g.size = f2.size;
        g.chunks.add(new ChunkRef(0, otherDigest, c.info(), 0));
        t2.root.putChild(new Node("g", g));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reuses chunk index 0 of blob 0 with a different digest");
    }

    @Test
    void rejectsHardLinkedDirectories() {
        RafsTree t = small();
        t.root.putChild(new Node("again", t.root.child("d").inode()));
        assertThatThrownBy(() -> RafsV6Writer.toBytes(t)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot be hard-linked");
    }

    @Test
    void missingPrefetchPathsAreSkippedAndRootMapsToRootNid() throws Exception {
        RafsTree t = small();
        t.prefetchPaths.add("/");
        t.prefetchPaths.add("/does/not/exist");
        t.prefetchPaths.add("/d/f");
        RafsTree back = RafsV6Reader.read(RafsV6Writer.toBytes(t), "mem");
        assertThat(back.prefetchPaths).containsExactly("/", "/d/f");
    }

    @Test
    void directoryFillingExactlyOneBlockUsesFlatPlain() throws Exception {
        RafsTree t = small();
        Node d = TestImages.dir(t.root, "exact", 0755);
        int remaining = 4096 - (12 + 1) - (12 + 2);
        int i = 0;
        while (remaining > 0) {
            int len = Math.min(255, remaining - 12);
            if (remaining - 12 - len > 0 && remaining - 12 - len < 13) {
                len -= 13;
            }
            String name = String.format("n%03d", i++);
            d.putChild(new Node(name + "x".repeat(len - name.length()),
                    TestImages.inode(TestImages.S_IFIFO | 0644, 0, 0, 0, 0)));
            remaining -= 12 + len;
        }
        assertThat(remaining).isZero();
        byte[] bytes = RafsV6Writer.toBytes(t);
        RafsTree back = RafsV6Reader.read(bytes, "mem");
        TestImages.assertSameTree(t, back);
        var file = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long metaBase = ErofsSuperBlock.wrap(file).metaBlkaddr() * 4096;
        DiskInode di = DiskInode.wrap(file, (int) (metaBase + back.root.child("exact").inode().ino * 32), "mem");
        assertThat(di.size()).isEqualTo(4096);
        assertThat(di.layout()).isEqualTo(DiskInode.LAYOUT_FLAT_PLAIN);
    }
}
