package dev.nydus4j.rafs;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.FixtureTrees;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RafsImageTest {

    @Test
    void attributesLinksAndDirectoryOrder(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 1, true);
        Inode dash = new Inode(0100644);
        img.tree.root.putChild(new Node("-dash", dash)); // sorts before "." (0x2d < 0x2e)
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            long root = fs.rootInode();
            assertThat(root).isEqualTo(1); // fresh tree: numbered from 1 in depth-first order
            List<String> names = fs.readdir(root).stream().map(DirEntry::name).toList();
            assertThat(names.subList(0, 3)).containsExactly("-dash", ".", "..");
            List<byte[]> raw = fs.readdir(root).stream().map(DirEntry::rawName).toList();
            for (int i = 1; i < raw.size(); i++) {
                assertThat(Arrays.compareUnsigned(raw.get(i - 1), raw.get(i))).isNegative();
            }
            assertThat(fs.lookup(root, "..").orElseThrow().ino()).isEqualTo(root);
            InodeAttributes a = fs.resolve("/a").orElseThrow();
            assertThat(a.nlink()).isEqualTo(3); // 2 + one subdirectory
            assertThat(fs.lookup(a.ino(), "..").orElseThrow().ino()).isEqualTo(root);
            InodeAttributes l1 = fs.resolve("/a/linked-1").orElseThrow();
            InodeAttributes l2 = fs.resolve("/a/" + "x".repeat(60) + "/" + "y".repeat(60) + "/" + "z".repeat(60) + "/linked-2")
                    .orElseThrow();
            assertThat(l1).isEqualTo(l2);
            assertThat(l1.nlink()).isEqualTo(2);
            assertThat(fs.listxattr(l1.ino())).containsExactly("user.binary", "user.text");
            assertThat(fs.getxattr(l1.ino(), "user.binary").orElseThrow()).containsExactly(0, 0xff, 0xc3, 0x28, 10);
            assertThat(fs.getxattr(l1.ino(), "user.none")).isEmpty();
            InodeAttributes sym = fs.resolve("/a/to-big").orElseThrow();
            assertThat(sym.isSymlink()).isTrue();
            assertThat(sym.size()).isEqualTo(10);
            assertThat(new String(fs.readlink(sym.ino()), StandardCharsets.UTF_8)).isEqualTo("../big.bin");
            InodeAttributes big = fs.resolve("/big.bin").orElseThrow();
            assertThat(big.blocks()).isEqualTo((big.size() + 511) / 512);
            InodeAttributes blk = fs.resolve("/blk-dev").orElseThrow();
            assertThat(blk.rdev()).isEqualTo((8 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12));
            InodeAttributes owned = fs.resolve("/owned").orElseThrow();
            assertThat(owned.uid()).isEqualTo(3_000_000);
            assertThat(owned.mtimeNsec()).isEqualTo(999_999_999);
            assertThat(fs.resolve("/small.txt/x")).isEmpty();
            assertThat(fs.resolve("/./a/../small.txt").orElseThrow().size()).isEqualTo(13);
            assertThatThrownBy(() -> fs.getattr(999_999)).isInstanceOf(FileNotFoundException.class);
            assertThatThrownBy(() -> fs.read(999_999, 0, ByteBuffer.allocate(1))).isInstanceOf(FileNotFoundException.class);
            assertThat(fs.stats().inodes()).isEqualTo(fs.inodeNumbers().size());
            assertThat(fs.stats().chunkSize()).isEqualTo(SyntheticImage.CHUNK_SIZE);
        }
    }

    @Test
    void readsAtChunkBoundariesAndEof(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 2, false);
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            long ino = fs.resolve("/big.bin").orElseThrow().ino();
            byte[] all = FixtureTrees.readAll(fs, ino, 1 << 20);
            int cs = SyntheticImage.CHUNK_SIZE;
            for (int off : new int[]{0, 1, cs - 1, cs, cs + 1, 2 * cs - 3, all.length - 1, all.length}) {
                for (int len : new int[]{1, 2, 5, cs, cs + 1, 3 * cs}) {
                    ByteBuffer dst = ByteBuffer.allocate(len);
                    int n = fs.read(ino, off, dst);
                    int expect = Math.max(0, Math.min(len, all.length - off));
                    assertThat(n).as("off %d len %d", off, len).isEqualTo(expect);
                    assertThat(dst.position()).isEqualTo(n);
                    assertThat(Arrays.copyOf(dst.array(), n)).isEqualTo(Arrays.copyOfRange(all, off, off + n));
                }
            }
            assertThat(fs.read(ino, all.length + 100, ByteBuffer.allocate(10))).isZero();
            // direct buffers and positioned destination buffers work the same
            ByteBuffer direct = ByteBuffer.allocateDirect(100);
            direct.position(10);
            assertThat(fs.read(ino, cs - 20, direct)).isEqualTo(90);
            byte[] got = new byte[90];
            direct.position(10);
            direct.get(got);
            assertThat(got).isEqualTo(Arrays.copyOfRange(all, cs - 20, cs + 70));
            long empty = fs.resolve("/empty").orElseThrow().ino();
            assertThat(fs.read(empty, 0, ByteBuffer.allocate(10))).isZero();
        }
    }

    @Test
    void holesReadAsZeros(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 3, false);
        Inode src = img.tree.root.child("small.txt").inode();
        ChunkRef c = src.chunks.get(0);
        Inode holey = new Inode(0100644);
        holey.size = 3 * 4096 + 100;
        holey.chunks.add(c.withFileOffset(4096));
        img.tree.root.putChild(new Node("holey", holey));
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            byte[] all = FixtureTrees.readAll(fs, fs.resolve("/holey").orElseThrow().ino(), 1000);
            byte[] expected = new byte[(int) holey.size];
            System.arraycopy("hello, nydus\n".getBytes(StandardCharsets.UTF_8), 0, expected, 4096, 13);
            assertThat(all).isEqualTo(expected);
        }
    }

    @Test
    void concurrentReadersSeeTheSameBytes() throws Exception {
        Path boot = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        try (RafsImage fs = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("repeatable/blobs")))) {
            var contents = FixtureTrees.contents(fs);
            List<String> paths = new ArrayList<>(contents.keySet());
            long seed = System.nanoTime();
            System.out.println("RafsImageTest concurrent seed=" + seed);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            AtomicInteger checked = new AtomicInteger();
            try {
                List<Future<?>> fs8 = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    Random rnd = new Random(seed + t);
                    fs8.add(pool.submit(() -> {
                        for (int i = 0; i < 300; i++) {
                            String p = paths.get(rnd.nextInt(paths.size()));
                            byte[] all = contents.get(p);
                            long ino = fs.resolve(p).orElseThrow().ino();
                            int off = all.length == 0 ? 0 : rnd.nextInt(all.length);
                            ByteBuffer dst = ByteBuffer.allocate(1 + rnd.nextInt(200_000));
                            int n = fs.read(ino, off, dst);
                            assertThat(Arrays.copyOf(dst.array(), n)).isEqualTo(Arrays.copyOfRange(all, off, off + n));
                            checked.incrementAndGet();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs8) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(checked.get()).isEqualTo(2400);
        }
    }

    @Test
    void closeClosesTheChunkReaderOnce(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 4, false);
        AtomicInteger closes = new AtomicInteger();
        ChunkReader counting = new ChunkReader() {
            @Override
            public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
                closes.incrementAndGet();
            }
        };
        RafsImage fs = RafsImage.open(img.tree, counting);
        fs.close();
        fs.close();
        assertThat(closes.get()).isEqualTo(1);
        assertThatThrownBy(() -> fs.read(fs.resolve("/small.txt").orElseThrow().ino(), 0, ByteBuffer.allocate(1)))
                .hasMessageContaining("closed");
    }
}
