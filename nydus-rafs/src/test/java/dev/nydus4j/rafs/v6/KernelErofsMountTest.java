package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.export.BlockImageExporter;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.LocalChunkReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Linux EROFS driver as an independent check of the writer (spec 8.2/8.3): the bootstrap is mounted with the
 * uncompressed blob image as extra device (loop devices), and the exported flat block image is mounted with
 * {@code -o loop}; the mounted trees must equal the source tree in names, types, mode, uid/gid, nlink, mtime (s and
 * ns), rdev, symlink targets, xattrs and file bytes. Runs only as root with erofs in /proc/filesystems. Everything
 * is read through external tools (stat, getfattr, sha256sum) so that non-ASCII names work in any JVM locale.
 */
class KernelErofsMountTest {
    private static final int CHUNK = 0x10000;

    @BeforeAll
    static void requireKernel() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")) || isRootUid(),
                "KernelErofsMountTest needs root (mount, losetup); skipping");
        String fs = Files.readString(Path.of("/proc/filesystems"));
        assumeTrue(fs.contains("\terofs"), "kernel without erofs in /proc/filesystems; skipping");
        for (String tool : new String[] {"/usr/sbin/losetup", "/usr/bin/mount", "/usr/bin/getfattr"}) {
            assumeTrue(Files.isExecutable(Path.of(tool)), tool + " not installed; skipping");
        }
    }

    private static boolean isRootUid() {
        try {
            return Files.readString(Path.of("/proc/self/status")).lines()
                    .filter(l -> l.startsWith("Uid:")).anyMatch(l -> l.split("\\s+")[1].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void kernelServesTheWrittenTreeWithBlobDeviceAndAsFlatImage(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("KernelErofsMountTest seed=" + seed);
        TestImages.BlobImage blob = new TestImages.BlobImage(0, CHUNK);
        RafsTree tree = TestImages.richTree(seed, CHUNK, 3000, blob);
        Path boot = dir.resolve("image.boot");
        Path blobFile = dir.resolve(tree.blobs.get(0).blobId());
        RafsV6Writer.write(tree, boot);
        Files.write(blobFile, blob.bytes());
        Map<String, String> expectedHashes = expectedHashes(tree, Map.of(0, blob.bytes()));

        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        List<String> loops = new ArrayList<>();
        boolean mounted = false;
        try {
            loops.add(run("losetup", "-f", "--show", "-r", blobFile.toString()).trim());
            loops.add(run("losetup", "-f", "--show", "-r", boot.toString()).trim());
            run("mount", "-t", "erofs", "-o", "ro,device=" + loops.get(0), loops.get(1), mnt.toString());
            mounted = true;
            assertMountedTree(tree, mnt, expectedHashes);
        } finally {
            if (mounted) {
                run("umount", mnt.toString());
            }
            for (String l : loops) {
                run("losetup", "-d", l);
            }
        }

        Path flat = dir.resolve("flat.img");
        BlockImageExporter.Result r;
        try (LocalChunkReader reader = LocalChunkReader.forFile(blobFile)) {
            r = BlockImageExporter.export(boot, reader, flat, true);
        }
        assertThat(r.rootHash()).hasSize(32);
        Path mnt2 = Files.createDirectory(dir.resolve("mnt2"));
        mounted = false;
        try {
            run("mount", "-t", "erofs", "-o", "ro,loop", flat.toString(), mnt2.toString());
            mounted = true;
            assertMountedTree(tree, mnt2, expectedHashes);
        } finally {
            if (mounted) {
                run("umount", mnt2.toString());
            }
        }
    }

    @Test
    void twoBlobsWithFilesSpanningBothMountWithTwoDevicesAndFlat(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        System.out.println("KernelErofsMountTest two-blob seed=" + seed);
        java.util.Random rnd = new java.util.Random(seed);
        TestImages.BlobImage b0 = new TestImages.BlobImage(0, CHUNK);
        TestImages.BlobImage b1 = new TestImages.BlobImage(1, CHUNK);
        Node root = new Node(new byte[0], TestImages.inode(TestImages.S_IFDIR | 0755, 0, 0, 1_700_000_000L, 0));
        RafsTree tree = new RafsTree(root);
        tree.chunkSize = CHUNK;
        TestImages.file(root, "in-blob-0", b0, TestImages.content(rnd, 3 * CHUNK + 17));
        TestImages.file(root, "in-blob-1", b1, TestImages.content(rnd, 2 * CHUNK));
        byte[] mixed = TestImages.content(rnd, 5 * CHUNK - 4095);
        Node m = TestImages.file(root, "mixed", b0, new byte[0]);
        m.inode().size = mixed.length;
        for (int off = 0, i = 0; off < mixed.length; off += CHUNK, i++) {
            int len = Math.min(CHUNK, mixed.length - off);
            m.inode().chunks.add((i % 2 == 0 ? b0 : b1).chunk(mixed, off, len));
        }
        tree.blobs.add(b0.finish());
        tree.blobs.add(b1.finish());
        Path boot = dir.resolve("image.boot");
        RafsV6Writer.write(tree, boot);
        Path blobs = Files.createDirectory(dir.resolve("blobs"));
        Path f0 = Files.write(blobs.resolve(tree.blobs.get(0).blobId()), b0.bytes());
        Path f1 = Files.write(blobs.resolve(tree.blobs.get(1).blobId()), b1.bytes());
        Map<String, String> hashes = expectedHashes(tree, Map.of(0, b0.bytes(), 1, b1.bytes()));
        assertThat(hashes.get("./mixed")).isEqualTo(HexFormat.of().formatHex(
                TestImages.sha256(mixed, 0, mixed.length)));

        List<RafsV6Device> devices = RafsV6Reader.devices(Files.readAllBytes(boot), "two");
        long bootBlocks = Files.size(boot) / 4096;
        assertThat(devices.get(0).mappedBlkaddr()).isEqualTo((bootBlocks + 127) / 128 * 128);
        long end0 = devices.get(0).mappedBlkaddr() + devices.get(0).blocks();
        assertThat(devices.get(1).mappedBlkaddr()).isEqualTo((end0 + 127) / 128 * 128);

        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        List<String> loops = new ArrayList<>();
        boolean mounted = false;
        try {
            loops.add(run("losetup", "-f", "--show", "-r", f0.toString()).trim());
            loops.add(run("losetup", "-f", "--show", "-r", f1.toString()).trim());
            loops.add(run("losetup", "-f", "--show", "-r", boot.toString()).trim());
            run("mount", "-t", "erofs", "-o", "ro,device=" + loops.get(0) + ",device=" + loops.get(1), loops.get(2),
                    mnt.toString());
            mounted = true;
            assertMountedTree(tree, mnt, hashes);
        } finally {
            if (mounted) {
                run("umount", mnt.toString());
            }
            for (String l : loops) {
                run("losetup", "-d", l);
            }
        }
        Path flat = dir.resolve("flat.img");
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(blobs)) {
            BlockImageExporter.export(boot, reader, flat, false);
        }
        assertThat(Files.size(flat)).isEqualTo((devices.get(1).mappedBlkaddr() + devices.get(1).blocks()) * 4096);
        Path mnt2 = Files.createDirectory(dir.resolve("mnt2"));
        mounted = false;
        try {
            run("mount", "-t", "erofs", "-o", "ro,loop", flat.toString(), mnt2.toString());
            mounted = true;
            assertMountedTree(tree, mnt2, hashes);
        } finally {
            if (mounted) {
                run("umount", mnt2.toString());
            }
        }
    }

    static Map<String, String> expectedHashes(RafsTree tree, Map<Integer, byte[]> images) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, Node> e : TestImages.flatten(tree).entrySet()) {
            Inode in = e.getValue().inode();
            if (in.isRegular()) {
                byte[] data = TestImages.fileBytes(in, images);
                out.put(rel(e.getKey()), HexFormat.of().formatHex(TestImages.sha256(data, 0, data.length)));
            }
        }
        return out;
    }

    private static String rel(String absPath) {
        return absPath.equals("/") ? "." : "." + absPath;
    }

    private record Stat(String mode, long uid, long gid, long nlink, long size, String mtime, long major,
                        long minor) {
    }

    private static void assertMountedTree(RafsTree tree, Path mnt, Map<String, String> hashes) throws Exception {
        Map<String, Stat> stats = statAll(mnt);
        Map<String, Node> expected = TestImages.flatten(tree);
        assertThat(stats.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet().stream()
                .map(KernelErofsMountTest::rel).toList());
        Map<Inode, Integer> names = new java.util.IdentityHashMap<>();
        expected.values().forEach(n -> names.merge(n.inode(), 1, Integer::sum));
        for (Map.Entry<String, Node> e : expected.entrySet()) {
            String p = rel(e.getKey());
            Inode in = e.getValue().inode();
            Stat s = stats.get(p);
            assertThat(Integer.parseInt(s.mode, 16)).as("mode of %s", p).isEqualTo(in.mode);
            assertThat(s.uid).as("uid of %s", p).isEqualTo(in.uid & 0xFFFFFFFFL);
            assertThat(s.gid).as("gid of %s", p).isEqualTo(in.gid & 0xFFFFFFFFL);
            assertThat(s.mtime).as("mtime of %s", p).isEqualTo(String.format("%d.%09d", in.mtimeSec, in.mtimeNsec));
            long nlink = in.isDirectory()
                    ? 2 + e.getValue().children().stream().filter(c -> c.inode().isDirectory()).count()
                    : names.get(in);
            assertThat(s.nlink).as("nlink of %s", p).isEqualTo(nlink);
            if (in.isRegular()) {
                assertThat(s.size).as("size of %s", p).isEqualTo(in.size);
            }
            if (in.type() == FileType.SYMLINK) {
                assertThat(s.size).as("link size of %s", p).isEqualTo(in.symlinkTarget.length);
                byte[] target = run(mnt, "readlink", "-n", "--", p);
                assertThat(new String(target, StandardCharsets.ISO_8859_1)).as("target of %s", p)
                        .isEqualTo(new String(in.symlinkTarget, StandardCharsets.ISO_8859_1));
            }
            if (in.type() == FileType.CHAR_DEVICE || in.type() == FileType.BLOCK_DEVICE) {
                long major = (in.rdev >>> 8) & 0xfff;
                long minor = (in.rdev & 0xff) | ((in.rdev >>> 12) & 0xfff00);
                assertThat(s.major).as("major of %s", p).isEqualTo(major);
                assertThat(s.minor).as("minor of %s", p).isEqualTo(minor);
            }
        }
        assertThat(sha256All(mnt)).isEqualTo(hashes);
        Map<String, Map<String, String>> xattrs = xattrsAll(mnt);
        Map<String, Map<String, String>> expectedX = new TreeMap<>();
        for (Map.Entry<String, Node> e : expected.entrySet()) {
            Map<String, byte[]> x = e.getValue().inode().xattrs;
            if (!x.isEmpty()) {
                Map<String, String> m = new TreeMap<>();
                x.forEach((k, v) -> m.put(k, HexFormat.of().formatHex(v)));
                expectedX.put(rel(e.getKey()), m);
            }
        }
        assertThat(xattrs).isEqualTo(expectedX);
    }

    private static Map<String, Stat> statAll(Path mnt) throws Exception {
        byte[] out = run(mnt, "sh", "-c",
                "find . -print0 | xargs -0 stat --printf '%n\\0%f\\0%u\\0%g\\0%h\\0%s\\0%.9Y\\0%t\\0%T\\0'");
        String[] f = new String(out, StandardCharsets.UTF_8).split("\0", -1);
        Map<String, Stat> m = new HashMap<>();
        for (int i = 0; i + 9 <= f.length; i += 9) {
            m.put(f[i], new Stat(f[i + 1], Long.parseLong(f[i + 2]), Long.parseLong(f[i + 3]),
                    Long.parseLong(f[i + 4]), Long.parseLong(f[i + 5]), f[i + 6], Long.parseLong(f[i + 7], 16),
                    Long.parseLong(f[i + 8], 16)));
        }
        return m;
    }

    static Map<String, String> sha256All(Path mnt) throws Exception {
        byte[] out = run(mnt, "sh", "-c", "find . -type f -print0 | xargs -0 -r sha256sum -z");
        Map<String, String> m = new HashMap<>();
        for (String line : new String(out, StandardCharsets.UTF_8).split("\0")) {
            if (!line.isEmpty()) {
                m.put(line.substring(66), line.substring(0, 64));
            }
        }
        return m;
    }

    /** getfattr dump of every entry: path → (name → hex value). */
    private static Map<String, Map<String, String>> xattrsAll(Path mnt) throws Exception {
        byte[] out = run(mnt, "sh", "-c", "getfattr -R -P -h -d -m - -e hex . 2>&1 || true");
        Map<String, Map<String, String>> m = new TreeMap<>();
        Map<String, String> cur = null;
        for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("# file: ")) {
                String p = line.substring(8);
                p = p.equals(".") ? "." : p.startsWith("./") ? p : "./" + p;
                cur = new TreeMap<>();
                m.put(p, cur);
            } else if (!line.isBlank() && cur != null) {
                int eq = line.indexOf('=');
                String name = eq < 0 ? line : line.substring(0, eq);
                String value = eq < 0 ? "" : line.substring(eq + 1);
                if (value.startsWith("0x")) {
                    value = value.substring(2);
                } else if (value.equals("\"\"")) {
                    value = "";
                }
                cur.put(name, value);
            }
        }
        return m;
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        return new String(run(null, cmd), StandardCharsets.UTF_8);
    }

    static byte[] run(Path cwd, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        pb.redirectError(ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            try (InputStream e = p.getErrorStream()) {
                e.transferTo(err);
            } catch (IOException ignored) {
                // the process is gone; stderr is only for the failure message
            }
        });
        t.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        t.join();
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed with " + p.exitValue() + ": " + err);
        }
        return out;
    }
}
