package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test trees with real chunk data: files are chunked and deduplicated by SHA-256 into *uncompressed blob images*
 * (spec 8.1: plain bytes at 4 KiB-aligned offsets; compressed offset = uncompressed offset, stored raw), so the
 * same blob file serves as nydus blob and as EROFS device. Also the tree comparison used by the round-trip tests.
 */
public final class TestImages {
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFSOCK = 0140000;

    private TestImages() {
    }

    /** Linux "new" device encoding (spec 3.8). */
    public static int makedev(int major, int minor) {
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }

    /** An uncompressed blob image under construction; chunks deduplicated by digest. */
    public static final class BlobImage {
        private final int index;
        private final int chunkSize;
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();
        private final Map<String, ChunkInfo> byDigest = new HashMap<>();
        private int chunks;
        private BlobInfo info;

        public BlobImage(int index, int chunkSize) {
            this.index = index;
            this.chunkSize = chunkSize;
        }

        /** Chunks {@code content} into {@code in.chunks} and sets the size. */
        public void addFile(Inode in, byte[] content) {
            in.size = content.length;
            in.chunks.clear();
            for (int off = 0; off < content.length; off += chunkSize) {
                in.chunks.add(chunk(content, off, Math.min(chunkSize, content.length - off)));
            }
        }

        /** Stores (or deduplicates) one chunk and returns its reference at file offset {@code off}. */
        public ChunkRef chunk(byte[] content, int off, int len) {
            byte[] digest = sha256(content, off, len);
            String key = HexFormat.of().formatHex(digest);
            ChunkInfo ci = byDigest.get(key);
            if (ci == null) {
                long pos = data.size();
                data.write(content, off, len);
                int pad = (int) ((4096 - (data.size() % 4096)) % 4096);
                data.write(new byte[pad], 0, pad);
                ci = new ChunkInfo(chunks++, pos, len, pos, len, false, 0);
                byDigest.put(key, ci);
            }
            return new ChunkRef(index, digest, ci, off);
        }

        public BlobInfo finish() {
            if (data.size() == 0) {
                data.write(new byte[4096], 0, 4096);
            }
            byte[] img = data.toByteArray();
            String id = HexFormat.of().formatHex(sha256(img, 0, img.length));
            info = new BlobInfo(id, index, chunkSize, chunks, CompressionAlgorithm.NONE.id(),
                    DigestAlgorithm.SHA256.id(), BlobInfo.FEATURE_ALIGNED | BlobInfo.FEATURE_CAP_TAR_TOC, img.length,
                    img.length, 0, 0, 0, 0, 0, new byte[32], new byte[32], 0);
            return info;
        }

        public byte[] bytes() {
            return data.toByteArray();
        }

        public BlobInfo info() {
            return info;
        }
    }

    public static byte[] sha256(byte[] b, int off, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b, off, len);
            return md.digest();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static Inode inode(int mode, int uid, int gid, long mtime, int nsec) {
        Inode in = new Inode(mode);
        in.uid = uid;
        in.gid = gid;
        in.mtimeSec = mtime;
        in.mtimeNsec = nsec;
        return in;
    }

    public static Node dir(Node parent, String name, int perm) {
        Node n = new Node(name, inode(S_IFDIR | perm, 0, 0, 1_700_000_000L, 0));
        parent.putChild(n);
        return n;
    }

    public static Node file(Node parent, String name, BlobImage blob, byte[] content) {
        Inode in = inode(S_IFREG | 0644, 1000, 1001, 1_600_000_000L, 123_456_789);
        blob.addFile(in, content);
        Node n = new Node(name, in);
        parent.putChild(n);
        return n;
    }

    public static Node symlink(Node parent, String name, int targetLen) {
        Inode in = inode(S_IFLNK | 0777, 0, 0, 1_650_000_000L, 5);
        byte[] t = new byte[targetLen];
        for (int i = 0; i < t.length; i++) {
            t[i] = (byte) ('a' + i % 26);
        }
        if (targetLen > 1) {
            t[0] = '/';
        }
        in.symlinkTarget = t;
        Node n = new Node(name, in);
        parent.putChild(n);
        return n;
    }

    /** Deterministic pseudo-random content. */
    public static byte[] content(Random rnd, int len) {
        byte[] b = new byte[len];
        rnd.nextBytes(b);
        // make part of it compressible and repetitive
        for (int i = 0; i < len / 3; i++) {
            b[i] = (byte) (i % 7);
        }
        return b;
    }

    /**
     * The rich tree of the round-trip and kernel tests: all file types, hard links, symlinks of 1/100/3001/4095
     * bytes, xattrs of every prefix, devices with minor > 255, a directory of {@code bigDirEntries} entries,
     * non-ASCII and 255-byte names, a deep path, empty and multi-chunk files, dedup, a prefetch table.
     */
    public static RafsTree richTree(long seed, int chunkSize, int bigDirEntries, BlobImage blob) {
        Random rnd = new Random(seed);
        Node root = new Node(new byte[0], inode(S_IFDIR | 0755, 0, 0, 1_700_000_000L, 42));
        RafsTree t = new RafsTree(root);
        t.chunkSize = chunkSize;
        t.compressor = CompressionAlgorithm.NONE;
        t.digester = DigestAlgorithm.SHA256;

        Node d1 = dir(root, "dir1", 0750);
        d1.inode().uid = 1234;
        d1.inode().gid = 5678;
        d1.inode().xattrs.put("user.comment", "directory xattr".getBytes(StandardCharsets.UTF_8));
        d1.inode().xattrs.put("trusted.overlay.opaque", "y".getBytes(StandardCharsets.UTF_8));
        file(root, "empty", blob, new byte[0]);
        file(root, "small.txt", blob, "hello, nydus\n".getBytes(StandardCharsets.UTF_8));
        file(root, "block4096", blob, content(rnd, 4096));
        byte[] big = content(rnd, chunkSize * 3 + 1234);
        Node multi = file(d1, "multi-chunk.bin", blob, big);
        file(d1, "same-as-multi.bin", blob, big.clone());
        Node x = file(root, "xattrs", blob, content(rnd, 777));
        x.inode().xattrs.put("user.a", new byte[] {1, 2, 3});
        x.inode().xattrs.put("user.empty", new byte[0]);
        Node bigX = file(d1, "large-xattrs", blob, content(rnd, 100));
        bigX.inode().xattrs.put("user.large1", content(rnd, 3000));
        bigX.inode().xattrs.put("user.large2", content(rnd, 3000));
        x.inode().xattrs.put("trusted.t", "trusted value".getBytes(StandardCharsets.UTF_8));
        x.inode().xattrs.put("security.capability", new byte[] {1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0});
        // posix ACL xattr: header version 2 + ACL_USER_OBJ rw-, ACL_GROUP_OBJ r--, ACL_OTHER r--
        x.inode().xattrs.put("system.posix_acl_access", new byte[] {2, 0, 0, 0, 1, 0, 6, 0, -1, -1, -1, -1, 4, 0, 4,
            0, -1, -1, -1, -1, 32, 0, 4, 0, -1, -1, -1, -1});
        // hard links: two names in different directories
        Node hl = file(root, "hardlink-a", blob, content(rnd, 5000));
        d1.putChild(new Node("hardlink-b", hl.inode()));
        root.putChild(new Node("hardlink-c", hl.inode()));
        for (int len : new int[] {1, 100, 3001, 4095}) {
            symlink(root, "link" + len, len);
        }
        Node chr = new Node("chr", inode(S_IFCHR | 0620, 0, 5, 1_600_000_001L, 0));
        chr.inode().rdev = makedev(136, 300);
        root.putChild(chr);
        Node blk = new Node("blk", inode(S_IFBLK | 0660, 0, 6, 1_600_000_002L, 0));
        blk.inode().rdev = makedev(8, 1);
        root.putChild(blk);
        root.putChild(new Node("fifo", inode(S_IFIFO | 0600, 7, 8, 1_600_000_003L, 999_999_999)));
        root.putChild(new Node("sock", inode(S_IFSOCK | 0755, 9, 10, 1_600_000_004L, 1)));
        dir(root, "empty-dir", 0700);
        file(root, "!bang", blob, new byte[] {1});
        file(root, "-dash", blob, new byte[] {2});
        file(root, "\u00fcmlaut-\u00e4\u00f6", blob, "umlaut".getBytes(StandardCharsets.UTF_8));
        file(root, "\u65e5\u672c\u8a9e", blob, "nihongo".getBytes(StandardCharsets.UTF_8));
        file(root, "n".repeat(255), blob, new byte[] {3});
        Node deep = root;
        for (int i = 0; i < 40; i++) {
            deep = dir(deep, "deep" + i, 0755);
        }
        file(deep, "bottom", blob, "bottom".getBytes(StandardCharsets.UTF_8));
        if (bigDirEntries > 0) {
            Node bd = dir(root, "bigdir", 0755);
            for (int i = 0; i < bigDirEntries; i++) {
                String name = String.format("entry-%05d-%s", i, "x".repeat(i % 40));
                if (i % 500 == 0) {
                    dir(bd, name, 0755);
                } else {
                    file(bd, name, blob, i % 100 == 1 ? ("content " + i).getBytes(StandardCharsets.UTF_8) : new byte[0]);
                }
            }
        }
        assertThat(multi.inode().chunks).hasSize(4);
        t.blobs.add(blob.finish());
        t.prefetchPaths.add("/dir1");
        t.prefetchPaths.add("/small.txt");
        return t;
    }

    /** Asserts that two trees are the same image (ignoring Inode.ino). */
    public static void assertSameTree(RafsTree expected, RafsTree actual) {
        assertThat(actual.chunkSize).isEqualTo(expected.chunkSize);
        assertThat(actual.compressor).isEqualTo(expected.compressor);
        assertThat(actual.digester).isEqualTo(expected.digester);
        assertThat(actual.explicitUidGid).isEqualTo(expected.explicitUidGid);
        assertThat(actual.prefetchPaths).isEqualTo(expected.prefetchPaths);
        assertThat(actual.blobs).hasSameSizeAs(expected.blobs);
        for (int i = 0; i < expected.blobs.size(); i++) {
            assertSameBlob(expected.blobs.get(i), actual.blobs.get(i));
        }
        Map<Inode, Inode> mapping = new IdentityHashMap<>();
        Map<Inode, Inode> reverse = new IdentityHashMap<>();
        compareNode("/", expected.root, actual.root, mapping, reverse);
    }

    public static void assertSameBlob(BlobInfo e, BlobInfo a) {
        assertThat(a.withIdAndIndex("", 0)).usingRecursiveComparison().isEqualTo(e.withIdAndIndex("", 0));
        assertThat(a.blobId()).isEqualTo(e.blobId());
        assertThat(a.blobIndex()).isEqualTo(e.blobIndex());
    }

    private static void compareNode(String path, Node e, Node a, Map<Inode, Inode> mapping,
                                    Map<Inode, Inode> reverse) {
        assertThat(a.name()).as("name of %s", path).isEqualTo(e.name());
        Inode ei = e.inode();
        Inode ai = a.inode();
        Inode mapped = mapping.putIfAbsent(ei, ai);
        Inode back = reverse.putIfAbsent(ai, ei);
        assertThat(mapped == null ? ai : mapped).as("hard-link identity of %s", path).isSameAs(ai);
        assertThat(back == null ? ei : back).as("hard-link identity of %s", path).isSameAs(ei);
        assertThat(ai.mode).as("mode of %s", path).isEqualTo(ei.mode);
        assertThat(ai.uid).as("uid of %s", path).isEqualTo(ei.uid);
        assertThat(ai.gid).as("gid of %s", path).isEqualTo(ei.gid);
        assertThat(ai.mtimeSec).as("mtime of %s", path).isEqualTo(ei.mtimeSec);
        assertThat(ai.mtimeNsec).as("mtime ns of %s", path).isEqualTo(ei.mtimeNsec);
        FileType type = ei.type();
        if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
            assertThat(ai.rdev).as("rdev of %s", path).isEqualTo(ei.rdev);
        }
        if (type == FileType.REGULAR) {
            assertThat(ai.size).as("size of %s", path).isEqualTo(ei.size);
            assertThat(ai.chunks).as("chunks of %s", path).hasSameSizeAs(ei.chunks);
            for (int i = 0; i < ei.chunks.size(); i++) {
                ChunkRef ec = ei.chunks.get(i);
                ChunkRef ac = ai.chunks.get(i);
                assertThat(ac.blobIndex()).as("chunk %d blob of %s", i, path).isEqualTo(ec.blobIndex());
                assertThat(ac.digest()).as("chunk %d digest of %s", i, path).isEqualTo(ec.digest());
                assertThat(ac.info()).as("chunk %d info of %s", i, path).isEqualTo(ec.info());
                assertThat(ac.fileOffset()).as("chunk %d offset of %s", i, path).isEqualTo(ec.fileOffset());
            }
        }
        if (type == FileType.SYMLINK) {
            assertThat(ai.symlinkTarget).as("target of %s", path).isEqualTo(ei.symlinkTarget);
        }
        assertThat(ai.xattrs.keySet()).as("xattr names of %s", path).isEqualTo(ei.xattrs.keySet());
        for (Map.Entry<String, byte[]> x : ei.xattrs.entrySet()) {
            assertThat(ai.xattrs.get(x.getKey())).as("xattr %s of %s", x.getKey(), path).isEqualTo(x.getValue());
        }
        List<Node> ec = new ArrayList<>(e.children());
        List<Node> ac = new ArrayList<>(a.children());
        assertThat(ac.stream().map(Node::nameString).toList()).as("children of %s", path)
                .isEqualTo(ec.stream().map(Node::nameString).toList());
        Iterator<Node> ait = ac.iterator();
        for (Node child : ec) {
            compareNode((path.equals("/") ? "/" : path + "/") + child.nameString(), child, ait.next(), mapping,
                    reverse);
        }
    }

    /** path → node for every entry (depth first), for the kernel comparisons. */
    public static Map<String, Node> flatten(RafsTree t) {
        Map<String, Node> out = new LinkedHashMap<>();
        flatten("", t.root, out);
        return out;
    }

    private static void flatten(String prefix, Node n, Map<String, Node> out) {
        out.put(prefix.isEmpty() ? "/" : prefix, n);
        for (Node c : n.children()) {
            flatten(prefix + "/" + c.nameString(), c, out);
        }
    }

    /** The plain bytes of a regular file, reassembled from its blob image. */
    public static byte[] fileBytes(Inode in, Map<Integer, byte[]> blobImages) {
        byte[] out = new byte[(int) in.size];
        for (ChunkRef c : in.chunks) {
            byte[] img = blobImages.get(c.blobIndex());
            System.arraycopy(img, (int) c.info().uncompressedOffset(), out, (int) c.fileOffset(),
                    c.info().uncompressedSize());
        }
        return out;
    }

    static boolean sameBytes(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
