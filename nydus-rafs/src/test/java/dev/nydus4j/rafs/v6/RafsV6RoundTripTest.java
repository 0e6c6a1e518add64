package dev.nydus4j.rafs.v6;

import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Writer → reader round trips: identical trees, deterministic bytes, and the writer's layout rules. */
class RafsV6RoundTripTest {

    @Test
    void richTreeRoundTripsIdentically(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("RafsV6RoundTripTest seed=" + seed);
        RafsTree t = TestImages.richTree(seed, 0x10000, 10_000, new TestImages.BlobImage(0, 0x10000));
        Path boot = dir.resolve("image.boot");
        RafsV6Writer.write(t, boot);
        byte[] bytes = Files.readAllBytes(boot);
        assertThat(bytes.length % 4096).isZero();
        RafsTree back = RafsV6Reader.read(boot);
        TestImages.assertSameTree(t, back);
        assertThat(back.root.inode().ino).isEqualTo(128);
        // re-writing a read tree gives identical bytes
        assertThat(RafsV6Writer.toBytes(back)).isEqualTo(bytes);
        assertThat(RafsV6Writer.toBytes(t)).isEqualTo(bytes);
    }

    @Test
    void headerFollowsTheWriterRules() throws Exception {
        RafsTree t = TestImages.richTree(1, 0x10000, 0, new TestImages.BlobImage(0, 0x10000));
        byte[] bytes = RafsV6Writer.toBytes(t);
        ByteBuffer file = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 1024; i++) {
            assertThat(bytes[i]).isZero();
        }
        ErofsSuperBlock sb = ErofsSuperBlock.wrap(file);
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(file);
        assertThat(sb.rootNid()).isEqualTo(128);
        assertThat(sb.featureCompat()).isEqualTo(0x40000000L);
        assertThat(sb.featureIncompat()).isEqualTo(0xC);
        assertThat(sb.devtSlotoff()).isEqualTo(11);
        assertThat(sb.extraDevices()).isEqualTo(1);
        assertThat(ext.blobTableOffset()).isEqualTo(4096);
        assertThat(ext.blobTableSize()).isEqualTo(256);
        assertThat(ext.prefetchTableOffset()).isEqualTo(4096 + 256);
        assertThat(ext.prefetchTableSize()).isEqualTo(8);
        assertThat(sb.metaBlkaddr()).isEqualTo(2);
        assertThat(ext.flags()).isEqualTo(RafsV6ExtSuperBlock.FLAG_COMPRESSION_NONE
                | RafsV6ExtSuperBlock.FLAG_HASH_SHA256 | RafsV6ExtSuperBlock.FLAG_EXPLICIT_UID_GID
                | RafsV6ExtSuperBlock.FLAG_HAS_XATTR);
        assertThat(ext.chunkSize()).isEqualTo(0x10000);
        assertThat(ext.chunkTableOffset() % 4096).isZero();
        DeviceSlot d = DeviceSlot.wrap(file, 0);
        assertThat(d.tag()).isEqualTo(t.blobs.get(0).blobId());
        long expectedMapped = (bytes.length + 0x7FFFFL) / 0x80000 * 0x80000 / 4096;
        assertThat(d.mappedBlkaddr()).isEqualTo(expectedMapped);
        assertThat(sb.blocks()).isEqualTo(d.blocks());
        // inos = number of distinct inodes (3 hard-link names share one)
        long[] count = {0};
        java.util.Set<Inode> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        TestImages.flatten(t).values().forEach(n -> {
            if (seen.add(n.inode())) {
                count[0]++;
            }
        });
        assertThat(sb.inos()).isEqualTo(count[0]);
    }

    @Test
    void nlinkAndLayoutChoices() throws Exception {
        RafsTree t = TestImages.richTree(2, 0x10000, 300, new TestImages.BlobImage(0, 0x10000));
        byte[] bytes = RafsV6Writer.toBytes(t);
        ByteBuffer file = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        RafsTree back = RafsV6Reader.read(bytes, "mem");
        long metaBase = ErofsSuperBlock.wrap(file).metaBlkaddr() * 4096;
        DiskInode root = DiskInode.wrap(file, (int) (metaBase + back.root.inode().ino * 32), "mem");
        long subdirs = back.root.children().stream().filter(n -> n.inode().isDirectory()).count();
        assertThat(root.nlink()).isEqualTo(2 + subdirs);
        DiskInode hl = inodeOf(file, metaBase, back.root.child("hardlink-a"));
        assertThat(hl.nlink()).isEqualTo(3);
        assertThat(hl.layout()).isEqualTo(DiskInode.LAYOUT_CHUNK_BASED);
        assertThat(hl.iu()).isEqualTo(0x20 | 4); // 64 KiB chunks: chunkbits 4
        assertThat(inodeOf(file, metaBase, back.root.child("link1")).layout()).isEqualTo(DiskInode.LAYOUT_FLAT_INLINE);
        assertThat(inodeOf(file, metaBase, back.root.child("link3001")).layout())
                .isEqualTo(DiskInode.LAYOUT_FLAT_INLINE);
        assertThat(inodeOf(file, metaBase, back.root.child("link4095")).layout())
                .isEqualTo(DiskInode.LAYOUT_FLAT_PLAIN);
        // contiguous multi-chunk file: one kernel chunk of next_power_of_two(197842) = 2^18 -> chunkbits 6
        Inode multi = back.root.child("dir1").child("multi-chunk.bin").inode();
        assertThat(multi.size).isEqualTo(3 * 0x10000 + 1234);
        assertThat(inodeOf(file, metaBase, back.root.child("dir1").child("multi-chunk.bin")).iu()).isEqualTo(0x20 | 6);
        DiskInode bigdir = inodeOf(file, metaBase, back.root.child("bigdir"));
        assertThat(bigdir.size()).isGreaterThan(4096);
        assertThat(bigdir.nlink()).isEqualTo(2 + 1);
        assertThat(inodeOf(file, metaBase, back.root.child("chr")).iu())
                .isEqualTo(TestImages.makedev(136, 300) & 0xFFFFFFFFL);
    }

    @Test
    void symlinkOfMaximalLength4096RoundTrips() throws Exception {
        // the spec allows 4096 bytes although the Linux VFS reads at most 4095 (PATH_MAX - 1)
        RafsTree t = TestImages.richTree(3, 0x10000, 0, new TestImages.BlobImage(0, 0x10000));
        TestImages.symlink(t.root, "link4096", 4096);
        byte[] bytes = RafsV6Writer.toBytes(t);
        RafsTree back = RafsV6Reader.read(bytes, "mem");
        TestImages.assertSameTree(t, back);
        ByteBuffer file = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long metaBase = ErofsSuperBlock.wrap(file).metaBlkaddr() * 4096;
        assertThat(inodeOf(file, metaBase, back.root.child("link4096")).layout()).isEqualTo(DiskInode.LAYOUT_FLAT_PLAIN);
    }

    private static DiskInode inodeOf(ByteBuffer file, long metaBase, Node n) throws Exception {
        return DiskInode.wrap(file, (int) (metaBase + n.inode().ino * 32), "mem");
    }

    @Test
    void upstreamFixtureSurvivesReadWriteRead() throws Exception {
        RafsTree t = RafsV6Reader.read(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot"));
        byte[] ours = RafsV6Writer.toBytes(t);
        RafsTree back = RafsV6Reader.read(ours, "rewritten");
        TestImages.assertSameTree(t, back);
        assertThat(RafsV6Writer.toBytes(back)).isEqualTo(ours);
    }

    @Test
    void hundredThousandEntriesWriteAndReadInSeconds() throws Exception {
        TestImages.BlobImage blob = new TestImages.BlobImage(0, 0x100000);
        Node root = new Node(new byte[0], TestImages.inode(TestImages.S_IFDIR | 0755, 0, 0, 0, 0));
        RafsTree t = new RafsTree(root);
        for (int d = 0; d < 100; d++) {
            Node dir = TestImages.dir(root, "d" + d, 0755);
            for (int f = 0; f < 1000; f++) {
                TestImages.file(dir, "file-" + f, blob, new byte[0]);
            }
        }
        Node one = TestImages.dir(root, "onedir", 0755);
        for (int f = 0; f < 10_000; f++) {
            TestImages.file(one, "entry-" + f, blob, new byte[0]);
        }
        t.blobs.add(blob.finish());
        long start = System.nanoTime();
        byte[] bytes = RafsV6Writer.toBytes(t);
        long wrote = System.nanoTime();
        RafsTree back = RafsV6Reader.read(bytes, "big");
        long read = System.nanoTime();
        System.out.printf("110k entries: write %d ms, read %d ms, %d bytes%n", (wrote - start) / 1_000_000,
                (read - wrote) / 1_000_000, bytes.length);
        assertThat((wrote - start) / 1_000_000).isLessThan(10_000);
        assertThat((read - wrote) / 1_000_000).isLessThan(10_000);
        assertThat(back.root.child("onedir").children()).hasSize(10_000);
        assertThat(back.root.child("d99").children()).hasSize(1000);
    }
}
