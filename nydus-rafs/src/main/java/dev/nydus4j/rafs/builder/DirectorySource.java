package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a directory tree (lstat semantics, never following symlinks) into a tree, chunking regular files as
 * they are met. Children are visited in raw-name order so blob layout is reproducible. Hard links (same device
 * and inode) share one {@link Inode}. Xattrs of all namespaces come from libc. Not thread-safe.
 */
final class DirectorySource {
    private static final Logger LOG = LoggerFactory.getLogger(DirectorySource.class);
    /** Far beyond any real tree (PATH_MAX allows ~2048 levels); stops runaway recursion on a broken fs. */
    private static final int MAX_DEPTH = 4096;
    /** Files from this size on are checked for holes (a sparse file of fewer chunks costs little to read). */
    private static final long SPARSE_CHECK_BYTES = 4L << 20;

    private final FileChunker chunker;
    private final Map<List<Object>, Inode> hardLinks = new HashMap<>();
    private final Charset nameCharset = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    private long files;

    private DirectorySource(FileChunker chunker) {
        this.chunker = chunker;
    }

    static Node read(Path dir, FileChunker chunker) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("source " + dir + " is not a directory");
        }
        DirectorySource s = new DirectorySource(chunker);
        Node root = new Node(new byte[0], s.inodeOf(dir, "/"));
        s.walk(dir, root, "/", 0);
        LOG.debug("{}: {} entries", dir, s.files);
        return root;
    }

    private void walk(Path dir, Node node, String path, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException("directory nesting deeper than " + MAX_DEPTH + " at " + dir);
        }
        List<Path> kids = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(kids::add);
        }
        List<byte[]> names = new ArrayList<>(kids.size());
        for (Path k : kids) {
            String n = k.getFileName().toString();
            if (n.indexOf('\uFFFD') >= 0 && !Files.exists(dir.resolve(n), LinkOption.NOFOLLOW_LINKS)) {
                // the JDK hands out names decoded with sun.jnu.encoding: bytes that do not decode are replaced,
                // so the name could neither be stored exactly nor opened again
                throw new IOException(dir + ": entry '" + n + "' has a name that is not valid " + nameCharset
                        + "; its bytes cannot be kept exactly (rename it)");
            }
            names.add(n.getBytes(nameCharset));
        }
        Integer[] order = new Integer[kids.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(names.get(a), names.get(b)));
        for (int i : order) {
            Path k = kids.get(i);
            String childPath = path.equals("/") ? "/" + k.getFileName() : path + "/" + k.getFileName();
            Node child = new Node(names.get(i), inodeOf(k, childPath));
            node.putChild(child);
            files++;
            if (child.inode().isDirectory()) {
                walk(k, child, childPath, depth + 1);
            }
        }
    }

    private Inode inodeOf(Path p, String path) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        FileType type = FileType.fromMode(mode);
        if (type == null) {
            throw new IOException(p + ": unknown file type in mode 0" + Integer.toOctalString(mode));
        }
        int nlink = (Integer) a.get("nlink");
        List<Object> key = List.of(a.get("dev"), a.get("ino"));
        if (type != FileType.DIRECTORY && nlink > 1) {
            Inode earlier = hardLinks.get(key);
            if (earlier != null) {
                return earlier;
            }
        }
        Inode inode = new Inode(mode & (FileType.S_IFMT | 07777));
        inode.uid = (Integer) a.get("uid");
        inode.gid = (Integer) a.get("gid");
        Instant mt = ((FileTime) a.get("lastModifiedTime")).toInstant();
        inode.mtimeSec = mt.getEpochSecond();
        inode.mtimeNsec = mt.getNano();
        inode.xattrs.putAll(NativeXattrs.read(p, type == FileType.SYMLINK));
        inode.xattrs.keySet().removeIf(n -> {
            if (XattrNames.storable(n)) {
                return false;
            }
            LOG.warn("{}: xattr '{}' cannot be stored in RAFS; dropped", p, n);
            return true;
        });
        switch (type) {
            case REGULAR: {
                long size = (Long) a.get("size");
                inode.size = size;
                // only files of several chunks are worth the two lseek calls
                FileHoles holes = size >= SPARSE_CHECK_BYTES ? FileHoles.of(p, size) : null;
                try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                    chunker.chunk(in, size, p.toString(), inode.chunks, holes);
                }
                break;
            }
            case SYMLINK: {
                String target = Files.readSymbolicLink(p).toString();
                if (target.indexOf('\uFFFD') >= 0) {
                    throw new IOException(p + ": symlink target '" + target + "' is not valid " + nameCharset
                            + "; its bytes cannot be kept exactly");
                }
                byte[] t = target.getBytes(nameCharset);
                if (t.length == 0 || t.length > TarSource.MAX_SYMLINK_BYTES) {
                    throw new IOException(p + ": symlink target of " + t.length + " bytes; expected 1.."
                            + TarSource.MAX_SYMLINK_BYTES);
                }
                inode.symlinkTarget = t;
                break;
            }
            case CHAR_DEVICE:
            case BLOCK_DEVICE:
                inode.rdev = newEncoding((Long) a.get("rdev"));
                break;
            default:
                break;
        }
        if (type != FileType.DIRECTORY && nlink > 1) {
            hardLinks.put(key, inode);
        }
        return inode;
    }

    /** glibc 64-bit dev_t → Linux "new" 32-bit encoding used by RAFS (spec 3.8). */
    static int newEncoding(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return (int) ((minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12));
    }
}
