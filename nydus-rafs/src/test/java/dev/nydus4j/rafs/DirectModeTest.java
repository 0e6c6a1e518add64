package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The direct-mode (on-demand) v6 reader against the whole-image reader: over the same bootstrap and blobs both must
 * serve equal inode numbers, attributes, readdir lists, lookups, symlink targets, xattrs, file bytes, statfs figures
 * and prefetch paths, for every inode reachable from the root.
 */
class DirectModeTest {
    @ParameterizedTest
    @EnumSource(value = CompressionAlgorithm.class, names = "GZIP", mode = EnumSource.Mode.EXCLUDE)
    // gzip is a decode-only compressor (legacy blobs): the builder does not write it
    void builderImagesServeTheSameForEveryCompressor(CompressionAlgorithm c, @TempDir Path tmp) throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().seed(41).chunkSize(4096).bigDirectory(700));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("image.boot");
        new ImageBuilder(BuildOptions.defaults().withCompressor(c).withChunkSize(4096)
                .withPrefetchPaths(List.of("/dup", "/dup/a.bin", "/")))
                .build(src, boot, null, blobs);
        byte[] bytes = Files.readAllBytes(boot);
        int names = assertSameServing(bytes, "built-" + c, () -> LocalChunkReader.forDirectory(blobs));
        assertThat(names).isGreaterThan(700);
        try (RafsImage fs = RafsImage.openDirect(boot, LocalChunkReader.forDirectory(blobs))) {
            assertThat(fs.prefetchPaths()).containsExactly("/dup", "/dup/a.bin", "/");
            assertHardLinksShareOneInode(fs);
        }
    }

    @Test
    void upstreamV6FixturesServeTheSame() throws Exception {
        byte[] v6 = Files.readAllBytes(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot"));
        assertSameServing(v6, "rafs-v6-2.2.boot", () -> LocalChunkReader.forDirectory(Fixtures.upstream("blobs")));
        Path blob = Fixtures.upstream("toc/2fa78cad554b75ac91a4a125ed148d0ddeb25efa4aaa8bd80e5dc292690a4dca");
        byte[] inlined;
        try (BlobFile bf = BlobFile.open(blob)) {
            inlined = bf.inlinedBootstrap().orElseThrow();
        }
        assertThat(Bootstraps.version(inlined, "toc")).isEqualTo(6);
        assertSameServing(inlined, "toc inlined", () -> LocalChunkReader.forFile(blob));
    }

    @Test
    void writerImagesWithDevicesServeTheSame(@TempDir Path tmp) throws Exception {
        for (long seed : new long[] {3, 11}) {
            SyntheticImage s = SyntheticImage.create(Files.createDirectories(tmp.resolve("s" + seed)), seed, true);
            byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
            assertSameServing(boot, "synthetic " + seed, () -> LocalChunkReader.forFile(s.blobFile));
        }
    }

    @Test
    void richWriterTreeServesTheSame(@TempDir Path tmp) throws Exception {
        // every file type, hard links across directories, symlinks up to 4095 bytes, xattrs of every prefix,
        // a directory of 1500 entries (several dirent blocks), 255-byte and non-ASCII names, a 40-deep path
        dev.nydus4j.rafs.v6.TestImages.BlobImage blob = new dev.nydus4j.rafs.v6.TestImages.BlobImage(0, 0x10000);
        RafsTree t = dev.nydus4j.rafs.v6.TestImages.richTree(7, 0x10000, 1500, blob);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(t);
        Path f = Files.write(tmp.resolve(blob.info().blobId()), blob.bytes());
        int names = assertSameServing(boot, "rich tree", () -> LocalChunkReader.forFile(f));
        assertThat(names).isGreaterThan(1500);
    }

    @Test
    void v5BootstrapsAreOpenedWhole() throws Exception {
        Path boot = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        Path blobs = Fixtures.upstream("repeatable/blobs");
        try (RafsImage eager = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs));
             RafsImage direct = RafsImage.openDirect(boot, LocalChunkReader.forDirectory(blobs))) {
            assertThat(direct.stats()).isEqualTo(eager.stats());
            assertThat(direct.stats().version()).isEqualTo(5);
            assertThat(direct.inodeNumbers()).isEqualTo(eager.inodeNumbers());
            compareFrom(eager, direct, "v5");
        }
    }

    @Test
    void concurrentFirstUsesAgree(@TempDir Path tmp) throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.generate(src, TreeGenerator.options().seed(7).chunkSize(4096).bigDirectory(300));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("image.boot");
        new ImageBuilder(BuildOptions.defaults().withChunkSize(4096)).build(src, boot, null, blobs);
        String expected;
        try (RafsImage eager = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs))) {
            expected = listing(eager);
        }
        for (int round = 0; round < 3; round++) {
            try (RafsImage direct = RafsImage.openDirect(boot, LocalChunkReader.forDirectory(blobs))) {
                ExecutorService pool = Executors.newFixedThreadPool(6);
                try {
                    List<Future<String>> runs = new ArrayList<>();
                    for (int t = 0; t < 6; t++) {
                        runs.add(pool.submit(() -> listing(direct)));
                    }
                    for (Future<String> f : runs) {
                        assertThat(f.get()).isEqualTo(expected);
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    @Test
    void theChunkReaderGetsTheChunkTableSoonAfterOpen(@TempDir Path tmp) throws Exception {
        SyntheticImage s = SyntheticImage.create(tmp, 9, false);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
        Recording eager = new Recording();
        RafsImage.open(Bootstraps.read(boot, "mem"), 6, eager, true).close();
        Recording direct = new Recording();
        try (RafsImage fs = RafsImage.openDirect(boot, "mem", direct, true)) {
            assertThat(direct.described.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(fs.getattr(fs.rootInode()).isDirectory()).isTrue();
        }
        // the same chunks with the same digests (the eager list repeats chunks shared by several files)
        assertThat(direct.chunks).isNotEmpty().isEqualTo(eager.chunks);
    }

    /** Records the chunk layout handed over by {@link ChunkReader#addChunks}. */
    private static final class Recording implements ChunkReader {
        final java.util.concurrent.CountDownLatch described = new java.util.concurrent.CountDownLatch(1);
        final java.util.SortedSet<String> chunks = new java.util.concurrent.ConcurrentSkipListSet<>();

        @Override
        public void addChunks(BlobInfo blob, List<ChunkInfo> infos, List<byte[]> digests) {
            for (int i = 0; i < infos.size(); i++) {
                chunks.add(blob.blobId() + " " + infos.get(i) + " " + HexFormat.of().formatHex(digests.get(i)));
            }
            described.countDown();
        }

        @Override
        public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
            throw new IOException("no blob data in this test");
        }

        @Override
        public void close() {
        }
    }

    @Test
    void badBootstrapsFailTheOpenAndCloseTheChunkReader(@TempDir Path tmp) throws Exception {
        SyntheticImage s = SyntheticImage.create(tmp, 5, false);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
        byte[] badRoot = boot.clone();
        // root nid pointing at the superblock area's zeros: no valid inode there
        ByteBuffer.wrap(badRoot).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort(1024 + 14, (short) 1);
        for (byte[] b : List.of(new byte[0], new byte[8192], java.util.Arrays.copyOf(boot, 4096), badRoot)) {
            java.util.concurrent.atomic.AtomicInteger closes = new java.util.concurrent.atomic.AtomicInteger();
            ChunkReader counting = new NoChunks() {
                @Override
                public void close() {
                    closes.incrementAndGet();
                }
            };
            assertThatThrownBy(() -> RafsImage.openDirect(b, "bad.boot", counting, true))
                    .isInstanceOf(CorruptImageException.class).hasMessageContaining("bad.boot");
            assertThat(closes.get()).as("chunk reader closed after a failed open of %d bytes", b.length).isEqualTo(1);
        }
    }

    @Test
    void inodeNumbersNotYetFoundAreNotServed(@TempDir Path tmp) throws Exception {
        SyntheticImage s = SyntheticImage.create(tmp, 5, false);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
        RafsTree tree = Bootstraps.read(boot, "mem");
        long deep;
        try (RafsImage eager = RafsImage.open(tree, 6, new NoChunks(), true)) {
            List<Long> inos = eager.inodeNumbers();
            deep = inos.get(inos.size() - 1);
        }
        try (RafsImage direct = RafsImage.openDirect(boot, "mem", new NoChunks(), true)) {
            assertThatThrownBy(() -> direct.getattr(Long.MAX_VALUE)).isInstanceOf(FileNotFoundException.class);
            assertThat(direct.getattr(direct.rootInode()).isDirectory()).isTrue();
            // a whole walk finds everything
            assertThat(direct.inodeNumbers()).contains(deep);
            assertThat(direct.getattr(deep).ino()).isEqualTo(deep);
        }
    }

    @Test
    void aCorruptInodeFailsWhenTouchedNotAtOpen(@TempDir Path tmp) throws Exception {
        SyntheticImage s = SyntheticImage.create(tmp, 5, false);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
        RafsTree tree = Bootstraps.read(boot, "mem");
        dev.nydus4j.rafs.tree.Node sub = null;
        dev.nydus4j.rafs.tree.Node victim = null;
        for (dev.nydus4j.rafs.tree.Node d : tree.root.children()) {
            for (dev.nydus4j.rafs.tree.Node n : d.inode().isDirectory() ? d.children()
                    : List.<dev.nydus4j.rafs.tree.Node>of()) {
                if (victim == null && n.inode().isRegular()) {
                    sub = d;
                    victim = n;
                }
            }
        }
        assertThat(victim).isNotNull();
        long nid = victim.inode().ino;
        long metaBase = (ByteBuffer.wrap(boot).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(1024 + 40)
                & 0xFFFF_FFFFL) * 4096;
        byte[] bad = boot.clone();
        int modeAt = (int) (metaBase + nid * 32 + 4);
        bad[modeAt + 1] = (byte) 0xF0; // i_mode type bits 0xF000: no such file type
        assertThatThrownBy(() -> Bootstraps.read(bad, "bad.boot")).isInstanceOf(CorruptImageException.class);
        try (RafsImage direct = RafsImage.openDirect(bad, "bad.boot", new NoChunks(), true)) {
            // decoding a directory checks each entry's type against the child's mode: the lookup of the victim's
            // directory fails, naming the bootstrap and the offset of the bad mode; the rest of the image serves
            String subName = sub.nameString();
            assertThatThrownBy(() -> direct.lookup(direct.rootInode(), subName))
                    .isInstanceOf(CorruptImageException.class).hasMessageContaining("bad.boot")
                    .hasMessageContaining("offset=" + modeAt);
            // (the inode just before the bad one on disk fails too: it checks that the slot after it is an inode)
            int served = 0;
            for (DirEntry e : direct.readdir(direct.rootInode())) {
                if (e.ino() != direct.rootInode() && !e.name().equals(subName)) {
                    try {
                        assertThat(direct.getattr(e.ino()).ino()).isEqualTo(e.ino());
                        served++;
                    } catch (CorruptImageException neighbour) {
                        assertThat(neighbour).hasMessageContaining("offset=" + modeAt);
                    }
                }
            }
            assertThat(served).isPositive();
        }
    }

    /** Asserts equal serving of one bootstrap by both readers; returns the number of names compared. */
    static int assertSameServing(byte[] bootstrap, String name, Supplier<ChunkReader> readers) throws IOException {
        RafsTree tree = Bootstraps.read(bootstrap, name);
        try (RafsImage eager = RafsImage.open(tree, 6, readers.get(), true);
             RafsImage direct = RafsImage.openDirect(bootstrap, name, readers.get(), true)) {
            int names = compareFrom(eager, direct, name);
            assertThat(direct.prefetchPaths()).as(name).isEqualTo(tree.prefetchPaths);
            assertThat(direct.inodeNumbers()).as(name).isEqualTo(eager.inodeNumbers());
            assertThat(direct.stats()).as(name).isEqualTo(eager.stats());
            return names;
        } finally {
            // statfs first, before anything else is decoded, must give the same figures
            try (RafsImage eager = RafsImage.open(tree, 6, new NoChunks(), true);
                 RafsImage direct = RafsImage.openDirect(bootstrap, name, new NoChunks(), true)) {
                assertThat(direct.stats()).as(name).isEqualTo(eager.stats());
            }
        }
    }

    /** Walks {@code direct} from the root as a FUSE client would, comparing every answer with {@code eager}. */
    static int compareFrom(RafsImage eager, RafsImage direct, String what) throws IOException {
        assertThat(direct.rootInode()).as(what).isEqualTo(eager.rootInode());
        long root = direct.rootInode();
        compareInode(eager, direct, root, what + " /");
        Set<Long> seen = new TreeSet<>();
        seen.add(root);
        ArrayDeque<Long> dirs = new ArrayDeque<>();
        dirs.add(root);
        int names = 0;
        while (!dirs.isEmpty()) {
            long dir = dirs.poll();
            List<DirEntry> d = direct.readdir(dir);
            List<DirEntry> e = eager.readdir(dir);
            assertThat(render(d)).as("%s readdir %d", what, dir).isEqualTo(render(e));
            assertThat(direct.lookup(dir, ".")).isEqualTo(eager.lookup(dir, "."));
            assertThat(direct.lookup(dir, "..")).isEqualTo(eager.lookup(dir, ".."));
            assertThat(direct.lookup(dir, "no such name \u00e9")).isEmpty();
            for (DirEntry de : d) {
                if (de.name().equals(".") || de.name().equals("..")) {
                    continue;
                }
                names++;
                Object at = what + " " + dir + "/" + de.name();
                assertThat(direct.lookup(dir, de.name())).as("%s lookup", at).isEqualTo(eager.lookup(dir, de.name()));
                if (seen.add(de.ino())) {
                    compareInode(eager, direct, de.ino(), at.toString());
                    if (de.type() == FileType.DIRECTORY) {
                        dirs.add(de.ino());
                    }
                }
            }
        }
        assertThat(new ArrayList<>(seen)).as(what).isEqualTo(eager.inodeNumbers());
        assertThatThrownBy(() -> direct.getattr(Long.MAX_VALUE)).isInstanceOf(FileNotFoundException.class);
        return names;
    }

    private static void compareInode(RafsImage eager, RafsImage direct, long ino, String at) throws IOException {
        InodeAttributes a = direct.getattr(ino);
        assertThat(a).as("%s getattr", at).isEqualTo(eager.getattr(ino));
        assertThat(direct.listxattr(ino)).as("%s listxattr", at).isEqualTo(eager.listxattr(ino));
        for (String x : eager.listxattr(ino)) {
            assertThat(direct.getxattr(ino, x).orElseThrow()).as("%s xattr %s", at, x)
                    .isEqualTo(eager.getxattr(ino, x).orElseThrow());
        }
        assertThat(direct.getxattr(ino, "user.no-such-xattr")).isEmpty();
        if (a.isSymlink()) {
            assertThat(direct.readlink(ino)).as("%s readlink", at).isEqualTo(eager.readlink(ino));
        }
        if (a.isRegular()) {
            assertThat(sha256(direct, ino)).as("%s bytes", at).isEqualTo(sha256(eager, ino));
        }
    }

    private static String sha256(RafsImage fs, long ino) throws IOException {
        // an odd read size: reads start and end off chunk and page boundaries
        TreeSnapshot.FileDigest d = TreeSnapshot.readSha256(fs, ino, 48 * 1024 + 7);
        return d.bytes() + ":" + d.sha256();
    }

    private static List<String> render(List<DirEntry> l) {
        List<String> out = new ArrayList<>();
        for (DirEntry e : l) {
            out.add(e.name() + "|" + HexFormat.of().formatHex(e.rawName()) + "|" + e.ino() + "|" + e.type());
        }
        return out;
    }

    /** Names, attributes and bytes of everything reachable, as text (for concurrent comparisons). */
    private static String listing(RafsImage fs) throws IOException {
        StringBuilder sb = new StringBuilder();
        ArrayDeque<Long> dirs = new ArrayDeque<>();
        dirs.add(fs.rootInode());
        Set<Long> seen = new TreeSet<>();
        while (!dirs.isEmpty()) {
            long dir = dirs.poll();
            for (DirEntry e : fs.readdir(dir)) {
                sb.append(dir).append('/').append(e.name()).append(' ').append(fs.getattr(e.ino())).append('\n');
                if (e.name().equals(".") || e.name().equals("..") || !seen.add(e.ino())) {
                    continue;
                }
                if (e.type() == FileType.DIRECTORY) {
                    dirs.add(e.ino());
                } else if (e.type() == FileType.REGULAR) {
                    sb.append(sha256(fs, e.ino())).append('\n');
                }
            }
        }
        return sb.toString();
    }

    private static void assertHardLinksShareOneInode(RafsImage fs) throws IOException {
        // TreeGenerator makes hard links: several names, one inode number, nlink = names
        java.util.Map<Long, Integer> namesOf = new java.util.HashMap<>();
        ArrayDeque<Long> dirs = new ArrayDeque<>();
        dirs.add(fs.rootInode());
        while (!dirs.isEmpty()) {
            for (DirEntry e : fs.readdir(dirs.poll())) {
                if (e.name().equals(".") || e.name().equals("..")) {
                    continue;
                }
                if (e.type() == FileType.DIRECTORY) {
                    dirs.add(e.ino());
                } else {
                    namesOf.merge(e.ino(), 1, Integer::sum);
                }
            }
        }
        int linked = 0;
        for (var e : namesOf.entrySet()) {
            assertThat(fs.getattr(e.getKey()).nlink()).as("nlink of %d", e.getKey()).isEqualTo(e.getValue());
            linked += e.getValue() > 1 ? 1 : 0;
        }
        assertThat(linked).as("hard-linked inodes").isPositive();
    }

    /** A chunk reader for metadata-only checks: any data read fails. */
    static class NoChunks implements ChunkReader {
        @Override
        public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
            throw new IOException("no blob data in this test");
        }

        @Override
        public void close() {
        }
    }
}
