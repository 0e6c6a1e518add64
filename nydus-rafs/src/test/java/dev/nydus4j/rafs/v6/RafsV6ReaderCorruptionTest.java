package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.DirectWalk;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** The strict reader against targeted corruptions (checklist 3.16) and random bit flips. */
class RafsV6ReaderCorruptionTest {
    private static byte[] image;
    private static RafsTree tree;
    private static long metaBase;
    /** Root directory entries: name → dirent offset. */
    private static final Map<String, Integer> ROOT_DIRENTS = new HashMap<>();

    @BeforeAll
    static void build() throws Exception {
        tree = TestImages.richTree(7, 0x10000, 0, new TestImages.BlobImage(0, 0x10000));
        image = RafsV6Writer.toBytes(tree);
        RafsTree back = RafsV6Reader.read(image, "mem");
        tree = back;
        ByteBuffer f = buf(image);
        metaBase = ErofsSuperBlock.wrap(f).metaBlkaddr() * 4096;
        DiskInode root = inodeAt(f, back.root.inode().ino);
        assertThat(root.layout()).isEqualTo(DiskInode.LAYOUT_FLAT_INLINE);
        int start = (int) (root.offset() + root.inodeSize() + root.xattrSize());
        int n = Dirent.wrap(f, start, 0).nameoff() / Dirent.SIZE;
        for (int j = 0; j < n; j++) {
            Dirent d = Dirent.wrap(f, start, j);
            int end = j + 1 < n ? Dirent.wrap(f, start, j + 1).nameoff() : (int) root.size();
            String name = new String(image, start + d.nameoff(), end - d.nameoff(), StandardCharsets.UTF_8);
            ROOT_DIRENTS.put(name, start + j * Dirent.SIZE);
        }
        assertThat(ROOT_DIRENTS).containsKeys(".", "..", "!bang", "dir1", "empty-dir", "blk", "small.txt");
    }

    private static ByteBuffer buf(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static DiskInode inodeAt(ByteBuffer f, long nid) throws CorruptImageException {
        return DiskInode.wrap(f, (int) (metaBase + nid * 32), "mem");
    }

    private static long nidOf(String rootChild) {
        return tree.root.child(rootChild).inode().ino;
    }

    /**
     * Both readers must reject {@code bytes}: the whole-image reader at read, the direct reader at open or when a
     * walk through the public API (every directory, inode, xattr, target, the prefetch paths) touches the bad
     * structure. The direct reader names inodes by nid, so fragments naming a path are checked on the whole-image
     * reader's message only.
     */
    private static void expectCorrupt(byte[] bytes, String... fragments) {
        expectCorruptWholeImage(bytes, fragments);
        var a = assertThatThrownBy(() -> DirectWalk.walk(bytes, "corrupt.boot"))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("corrupt.boot");
        for (String s : fragments) {
            if (!s.contains("'/")) {
                a.hasMessageContaining(s);
            }
        }
    }

    /** Only the whole-image reader must reject {@code bytes} (checks that need the whole tree). */
    private static void expectCorruptWholeImage(byte[] bytes, String... fragments) {
        var a = assertThatThrownBy(() -> RafsV6Reader.read(bytes, "corrupt.boot"))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("corrupt.boot");
        for (String s : fragments) {
            a.hasMessageContaining(s);
        }
    }

    @Test
    void unsortedDirectoryEntries() {
        byte[] b = image.clone();
        int nameoff = buf(b).getShort(ROOT_DIRENTS.get("!bang") + Dirent.NAMEOFF_OFFSET) & 0xFFFF;
        int blockStart = ROOT_DIRENTS.get("!bang"); // the first dirent of the (only) block: nameoff is relative to it
        b[blockStart + nameoff] = 'z';
        expectCorrupt(b, "strictly sorted");
    }

    @Test
    void wrongDotNid() {
        byte[] b = image.clone();
        buf(b).putLong(ROOT_DIRENTS.get("."), nidOf("dir1"));
        expectCorrupt(b, "entry '.' nid expected " + tree.root.inode().ino);
    }

    @Test
    void direntTypeMismatch() {
        byte[] b = image.clone();
        b[ROOT_DIRENTS.get("blk") + Dirent.FILE_TYPE_OFFSET] = 1;
        expectCorrupt(b, "e_file_type expected 4");
    }

    @Test
    void directoryReachableTwiceAndCycles() {
        byte[] b = image.clone();
        buf(b).putLong(ROOT_DIRENTS.get("empty-dir"), nidOf("dir1"));
        expectCorrupt(b, "expected reachable once");
        byte[] c = image.clone();
        buf(c).putLong(ROOT_DIRENTS.get("dir1"), tree.root.inode().ino);
        expectCorrupt(c, "expected reachable once");
    }

    @Test
    void direntNidOutsideTheFile() {
        byte[] b = image.clone();
        buf(b).putLong(ROOT_DIRENTS.get("small.txt"), 1L << 40);
        expectCorrupt(b, "expected an inode inside the file");
    }

    @Test
    void chunkAddressMissingFromTheChunkTable() throws Exception {
        byte[] b = image.clone();
        ByteBuffer f = buf(b);
        DiskInode in = inodeAt(f, nidOf("small.txt"));
        int arr = (int) ((in.offset() + in.inodeSize() + in.xattrSize() + 7) & ~7L);
        ChunkAddress a = ChunkAddress.wrap(f, arr);
        Inode other = tree.root.child("block4096").inode();
        // a valid chunk index with the block address of another chunk: no table record has this key
        a.writeTo(0, a.chunkIndex(), other.chunks.get(0).info().uncompressedOffset() / 4096);
        expectCorrupt(b, "expected in the bootstrap chunk table");
    }

    @Test
    void blobIndexZeroInChunkAddressIsInvalid() throws Exception {
        byte[] b = image.clone();
        ByteBuffer f = buf(b);
        DiskInode in = inodeAt(f, nidOf("small.txt"));
        int arr = (int) ((in.offset() + in.inodeSize() + in.xattrSize() + 7) & ~7L);
        b[arr + ChunkAddress.BLOB_ADDR_HI_OFFSET] = 0;
        expectCorrupt(b, "blob index expected 0..0, found -1");
    }

    @Test
    void nonZeroByteOutsideStructures() throws Exception {
        byte[] b = image.clone();
        b[100] = 1;
        expectCorruptWholeImage(b, "outside every structure", "found 0x01");
        // a whole-image property: the direct reader does not look at bytes no structure uses, and serves the same
        assertThat(DirectWalk.walk(b, "corrupt.boot")).isEqualTo(DirectWalk.walk(image, "intact.boot"));
    }

    @Test
    void overlappingTables() {
        byte[] b = image.clone();
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(buf(b));
        // point the prefetch table into the blob table
        buf(b).putLong(RafsV6ExtSuperBlock.POSITION + RafsV6ExtSuperBlock.PREFETCH_TABLE_OFFSET_OFFSET,
                ext.blobTableOffset() + 8);
        expectCorrupt(b);
    }

    @Test
    void headerFieldChecks() {
        byte[] b = image.clone();
        buf(b).putLong(ErofsSuperBlock.POSITION + ErofsSuperBlock.INOS_OFFSET, 0);
        expectCorrupt(b, "inos expected non-zero");
        byte[] c = image.clone();
        buf(c).putInt(4096 + BlobTableEntry.BLOB_INDEX_OFFSET, 3);
        expectCorrupt(c, "blob_index expected 0, found 3");
        byte[] d = image.clone();
        buf(d).putInt(RafsV6ExtSuperBlock.POSITION + RafsV6ExtSuperBlock.FLAGS_OFFSET, 0x1 | 0x80 | 0x8);
        expectCorrupt(d, "exactly one compression bit");
        byte[] e = image.clone();
        buf(e).putInt(DeviceSlot.TABLE_POSITION + DeviceSlot.BLOCKS_OFFSET, 1);
        expectCorrupt(e, "device slot blocks expected");
        byte[] g = java.util.Arrays.copyOf(image, image.length - 100);
        expectCorrupt(g, "multiple of 4096");
    }

    @Test
    void aCorruptChunkTableFailsEveryChunkLookupNotTheDirectOpen() throws Exception {
        byte[] b = image.clone();
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(buf(b));
        int table = (int) ext.chunkTableOffset();
        System.arraycopy(b, table, b, table + ChunkRecord.SIZE, ChunkRecord.SIZE);
        // direct mode validates the table off the open's path: the open and metadata-only calls succeed
        RafsV6DirectReader r = RafsV6DirectReader.open(b, "lazy.boot");
        assertThat(r.rootNid()).isEqualTo(tree.root.inode().ino);
        assertThat(r.maxChunkSize()).isBetween(1, ChunkRecord.MAX_UNCOMPRESSED_SIZE);
        // every lookup, from any number of threads at once, gets its own exception naming the record
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<Throwable>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> {
                    try {
                        r.forEachChunk((blob, info, digest) -> { });
                        return null;
                    } catch (CorruptImageException e) {
                        return e;
                    }
                }));
            }
            java.util.Set<Throwable> distinct = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (var f : results) {
                Throwable t = f.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(t).isInstanceOf(CorruptImageException.class).hasMessageContaining("lazy.boot")
                        .hasMessageContaining("chunk table record 1: key (blob 0")
                        .hasMessageContaining("offset=" + (table + ChunkRecord.SIZE));
                distinct.add(t);
            }
            assertThat(distinct).hasSize(8);
        } finally {
            pool.shutdownNow();
        }
        expectCorrupt(b, "chunk table record 1: key (blob 0", "expected unique, found twice");
    }

    @Test
    void duplicateChunkTableKey() {
        byte[] b = image.clone();
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(buf(b));
        assertThat(ext.chunkTableSize()).isGreaterThanOrEqualTo(2L * ChunkRecord.SIZE);
        int table = (int) ext.chunkTableOffset();
        System.arraycopy(b, table, b, table + ChunkRecord.SIZE, ChunkRecord.SIZE);
        expectCorrupt(b, "chunk table record 1: key (blob 0", "expected unique, found twice");
    }

    @Test
    void shrunkFileSizesAreRejected() throws Exception {
        // a smaller i_size with whole chunks left over is only visible as the left-over chunk addresses: the
        // whole-image reader finds them in a gap, the direct reader after the inode's shortened chunk array
        int checked = 0;
        for (var e : TestImages.flatten(tree).entrySet()) {
            Inode in = e.getValue().inode();
            if (!in.isRegular() || in.chunks.isEmpty()) {
                continue;
            }
            int n = in.chunks.size();
            long chunkSize = 0x10000;
            for (long size : n > 1 ? new long[] {0, (n - 1) * chunkSize} : new long[] {0}) {
                byte[] b = image.clone();
                DiskInode d = inodeAt(buf(b), in.ino);
                buf(b).putLong((int) d.offset() + ExtendedInode.SIZE_OFFSET, size);
                expectCorrupt(b);
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(3);
    }

    /** An i_size from 2^63 on (a u64 on disk) must not read as an empty file (found by the bit-flip test). */
    @Test
    void fileSizesBeyondTwoToTheSixtyThirdAreRejected() throws Exception {
        Inode multi = tree.root.child("dir1").child("multi-chunk.bin").inode();
        byte[] b = image.clone();
        DiskInode d = inodeAt(buf(b), multi.ino);
        int at = (int) d.offset() + ExtendedInode.SIZE_OFFSET;
        buf(b).putLong(at, buf(b).getLong(at) | Long.MIN_VALUE);
        expectCorrupt(b, "size expected 0..");
    }

    @Test
    void invalidPrefetchNid() {
        byte[] b = image.clone();
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(buf(b));
        buf(b).putInt((int) ext.prefetchTableOffset(), 12345);
        expectCorrupt(b, "prefetch table nid 12345");
    }

    @Test
    void kernelChunkbitsOptimisationIsAcceptedOnlyForContiguousFiles() throws Exception {
        byte[] b = image.clone();
        ByteBuffer f = buf(b);
        Inode multi = tree.root.child("dir1").child("multi-chunk.bin").inode();
        DiskInode in = inodeAt(f, multi.ino);
        int bits = 64 - Long.numberOfLeadingZeros(multi.size - 1) - 12; // log2(next_power_of_two(size)) - 12
        f.putInt((int) in.offset() + ExtendedInode.U_OFFSET, ChunkAddress.CHUNK_FORMAT_INDEXES | bits);
        RafsTree back = RafsV6Reader.read(b, "opt");
        TestImages.assertSameTree(tree, back);

        byte[] c = image.clone();
        DiskInode one = inodeAt(buf(c), nidOf("xattrs"));
        buf(c).putInt((int) one.offset() + ExtendedInode.U_OFFSET, ChunkAddress.CHUNK_FORMAT_INDEXES | 10);
        expectCorrupt(c, "chunkbits of '/xattrs' expected 4");
    }

    @Test
    void compactInodesAreRead() throws Exception {
        byte[] b = image.clone();
        ByteBuffer f = buf(b);
        // rewrite the chr device and a regular file as compact inodes (32 bytes; chunk array moves up)
        Inode chr = tree.root.child("chr").inode();
        DiskInode ext = inodeAt(f, chr.ino);
        int off = (int) ext.offset();
        java.util.Arrays.fill(b, off, off + 64, (byte) 0);
        f.putShort(off + CompactInode.FORMAT_OFFSET, (short) 0);
        f.putShort(off + CompactInode.MODE_OFFSET, (short) chr.mode);
        f.putShort(off + CompactInode.NLINK_OFFSET, (short) 1);
        f.putInt(off + CompactInode.U_OFFSET, chr.rdev);
        f.putShort(off + CompactInode.UID_OFFSET, (short) chr.uid);
        f.putShort(off + CompactInode.GID_OFFSET, (short) chr.gid);

        Inode small = tree.root.child("small.txt").inode();
        DiskInode ext2 = inodeAt(f, small.ino);
        int off2 = (int) ext2.offset();
        byte[] addr = java.util.Arrays.copyOfRange(b, off2 + 64, off2 + 72);
        java.util.Arrays.fill(b, off2, off2 + 72, (byte) 0);
        f.putShort(off2 + CompactInode.FORMAT_OFFSET, (short) (DiskInode.LAYOUT_CHUNK_BASED << 1));
        f.putShort(off2 + CompactInode.MODE_OFFSET, (short) small.mode);
        f.putShort(off2 + CompactInode.NLINK_OFFSET, (short) 1);
        f.putInt(off2 + CompactInode.SIZE_OFFSET, (int) small.size);
        f.putInt(off2 + CompactInode.U_OFFSET, ChunkAddress.CHUNK_FORMAT_INDEXES | 4);
        f.putShort(off2 + CompactInode.UID_OFFSET, (short) small.uid);
        f.putShort(off2 + CompactInode.GID_OFFSET, (short) small.gid);
        System.arraycopy(addr, 0, b, off2 + 32, 8);

        RafsTree back = RafsV6Reader.read(b, "compact");
        Inode c = back.root.child("chr").inode();
        assertThat(c.rdev).isEqualTo(chr.rdev);
        assertThat(c.mode).isEqualTo(chr.mode);
        assertThat(c.gid).isEqualTo(chr.gid);
        assertThat(c.mtimeSec).isZero();
        Inode s = back.root.child("small.txt").inode();
        assertThat(s.size).isEqualTo(small.size);
        assertThat(s.uid).isEqualTo(small.uid);
        assertThat(s.chunks).hasSize(1);
        assertThat(s.chunks.get(0).info()).isEqualTo(small.chunks.get(0).info());
    }

    @Test
    void randomBitFlipsNeverEscapeAsOtherExceptions() throws Exception {
        long seed = System.nanoTime();
        System.out.println("RafsV6ReaderCorruptionTest bit-flip seed=" + seed);
        Random rnd = new Random(seed);
        byte[][] bases = {image, Files.readAllBytes(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot"))};
        int detected = 0;
        int detectedDirect = 0;
        int wholeImageOnly = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] base = bases[i % 2];
            byte[] b = base.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int k = 0; k < flips; k++) {
                int pos = rnd.nextInt(b.length);
                b[pos] ^= (byte) (1 << rnd.nextInt(8));
            }
            String wholeImage = null;
            try {
                RafsV6Reader.read(b, "flip");
            } catch (CorruptImageException expected) {
                detected++;
                wholeImage = expected.getMessage();
            } catch (RuntimeException e) {
                fail("seed " + seed + " iteration " + i + ": reader threw " + e, e);
            }
            if (i % 3 == 0) {
                // the direct reader, walked whole: a CorruptImageException or a result, nothing else; and what the
                // whole-image reader rejects it rejects too, unless only a whole-image check can see it
                try {
                    DirectWalk.walk(b, "flip");
                    if (wholeImage != null) {
                        assertThat(wholeImage).as("seed %d iteration %d: rejected by the whole-image reader only",
                                seed, i).containsAnyOf("outside every structure", "structures overlap");
                        wholeImageOnly++;
                    }
                } catch (CorruptImageException expected) {
                    detectedDirect++;
                } catch (RuntimeException e) {
                    fail("seed " + seed + " iteration " + i + ": direct reader threw " + e, e);
                }
            }
        }
        System.out.println("bit flips detected: " + detected + " / 3000; of 1000 also read directly: " + detectedDirect
                + " detected, " + wholeImageOnly + " only by the whole-image checks (zero gaps, overlaps)");
        assertThat(detected).isGreaterThan(1000);
        assertThat(detectedDirect).isPositive();
    }
}
