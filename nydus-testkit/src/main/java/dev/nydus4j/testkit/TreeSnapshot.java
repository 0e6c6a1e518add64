package dev.nydus4j.testkit;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A comparable, printable model of a file tree: every path with its type, permission bits, owner, link count,
 * mtime, device number, xattrs, symlink target and content sha256. Built from a directory on disk
 * ({@link #of(Path)}, lstat semantics) or from an image through the public read API ({@link #of(RafsFileSystem)}),
 * so an image can be compared with the source it was built from. Immutable and thread-safe.
 *
 * <p>Hard links are represented by {@link Entry#linkGroup()}: the smallest path (in the snapshot's order) that
 * shares the inode, for regular files with more than one name; inode numbers themselves are not compared.
 */
public final class TreeSnapshot {
    /** Fields {@link #diff} can be told to ignore. */
    public enum Field {
        TYPE, MODE, UID, GID, NLINK,
        /** nlink of directories only (file systems differ: ext4 counts subdirectories, others report 1). */
        DIR_NLINK,
        MTIME,
        /** Only the nanosecond part of mtime (e.g. a tar source carries whole seconds). */
        MTIME_NSEC,
        RDEV, SIZE, XATTRS, TARGET, CONTENT, LINK_GROUP,
        /** mtime of directories only (adding entries changes it). */
        DIR_MTIME
    }

    /**
     * One path.
     *
     * @param path       "/" for the root, "/a/b" below it (names decoded as UTF-8)
     * @param type       file type
     * @param mode       permission and special bits ({@code mode & 07777})
     * @param size       size of regular files and symlinks (target length); 0 for other types
     * @param rdev       device number in Linux "new" encoding for devices, else 0
     * @param xattrs     name → hex value
     * @param target     symlink target (UTF-8 decoded) or null
     * @param sha256     hex sha256 of regular file content, or null
     * @param linkGroup  first path of the hard-link group of a multiply-linked regular file, else null
     */
    public record Entry(String path, FileType type, int mode, int uid, int gid, int nlink, long mtimeSec,
                        int mtimeNsec, int rdev, long size, SortedMap<String, String> xattrs, String target,
                        String sha256, String linkGroup) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append(path).append(' ').append(type).append(String.format(" %04o", mode)).append(' ')
                    .append(uid).append(':').append(gid).append(" nlink=").append(nlink)
                    .append(" mtime=").append(mtimeSec).append('.').append(String.format("%09d", mtimeNsec));
            if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
                sb.append(" rdev=").append(rdev);
            }
            if (type == FileType.REGULAR || type == FileType.SYMLINK) {
                sb.append(" size=").append(size);
            }
            if (!xattrs.isEmpty()) {
                sb.append(" xattrs=").append(xattrs);
            }
            if (target != null) {
                sb.append(" -> ").append(target.length() > 60 ? target.substring(0, 60) + "..." : target);
            }
            if (sha256 != null) {
                sb.append(" sha256=").append(sha256, 0, 16);
            }
            if (linkGroup != null) {
                sb.append(" linkgroup=").append(linkGroup);
            }
            return sb.toString();
        }
    }

    private final SortedMap<String, Entry> entries;

    private TreeSnapshot(SortedMap<String, Entry> entries) {
        this.entries = Collections.unmodifiableSortedMap(entries);
    }

    /** All entries by path (sorted). */
    public SortedMap<String, Entry> entries() {
        return entries;
    }

    public Entry get(String path) {
        return entries.get(path);
    }

    /**
     * Snapshot without the given paths and everything below them (e.g. to drop whiteout markers). {@code "/"}
     * removes only the root entry itself (its attributes usually differ between a source and its copy).
     */
    public TreeSnapshot without(String... paths) {
        TreeMap<String, Entry> m = new TreeMap<>(entries);
        for (String p : paths) {
            if (p.equals("/")) {
                m.remove("/");
                continue;
            }
            m.keySet().removeIf(k -> k.equals(p) || k.startsWith(p + "/"));
        }
        return new TreeSnapshot(m);
    }

    /** Snapshot of a directory on disk: lstat semantics, all xattr namespaces (via libc). */
    public static TreeSnapshot of(Path root) throws IOException {
        Map<String, RawEntry> raw = new TreeMap<>();
        walkDisk(root, "/", raw);
        return finish(raw);
    }

    /** Snapshot of an image through the public read API, walking from the root inode. */
    public static TreeSnapshot of(RafsFileSystem fs) throws IOException {
        Map<String, RawEntry> raw = new TreeMap<>();
        walkFs(fs, fs.rootInode(), "/", raw, 0);
        return finish(raw);
    }

    /** Every difference between this (expected) and {@code actual}, one line each; empty when equal. */
    public List<String> diff(TreeSnapshot actual, Field... ignore) {
        return diff(actual, ignore.length == 0 ? EnumSet.noneOf(Field.class) : EnumSet.of(ignore[0], ignore));
    }

    public List<String> diff(TreeSnapshot actual, Set<Field> ignore) {
        List<String> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            Entry a = actual.entries.get(e.path);
            if (a == null) {
                out.add("missing in actual: " + e);
                continue;
            }
            boolean dir = e.type == FileType.DIRECTORY;
            cmp(out, e.path, Field.TYPE, ignore, e.type, a.type);
            if (e.type != a.type) {
                continue;
            }
            cmp(out, e.path, Field.MODE, ignore, String.format("%04o", e.mode), String.format("%04o", a.mode));
            cmp(out, e.path, Field.UID, ignore, e.uid, a.uid);
            cmp(out, e.path, Field.GID, ignore, e.gid, a.gid);
            if (!(dir && ignore.contains(Field.DIR_NLINK))) {
                cmp(out, e.path, Field.NLINK, ignore, e.nlink, a.nlink);
            }
            if (!(dir && ignore.contains(Field.DIR_MTIME))) {
                cmp(out, e.path, Field.MTIME, ignore, e.mtimeSec, a.mtimeSec);
                if (!ignore.contains(Field.MTIME)) {
                    cmp(out, e.path, Field.MTIME_NSEC, ignore, e.mtimeNsec, a.mtimeNsec);
                }
            }
            cmp(out, e.path, Field.RDEV, ignore, e.rdev, a.rdev);
            cmp(out, e.path, Field.SIZE, ignore, e.size, a.size);
            cmp(out, e.path, Field.XATTRS, ignore, e.xattrs, a.xattrs);
            cmp(out, e.path, Field.TARGET, ignore, e.target, a.target);
            cmp(out, e.path, Field.CONTENT, ignore, e.sha256, a.sha256);
            cmp(out, e.path, Field.LINK_GROUP, ignore, e.linkGroup, a.linkGroup);
        }
        for (Entry a : actual.entries.values()) {
            if (!entries.containsKey(a.path)) {
                out.add("unexpected in actual: " + a);
            }
        }
        return out;
    }

    private static void cmp(List<String> out, String path, Field f, Set<Field> ignore, Object expected,
                            Object actual) {
        if (!ignore.contains(f) && !Objects.equals(expected, actual)) {
            out.add(path + ": " + f.name().toLowerCase() + " expected " + expected + " but was " + actual);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries.values()) {
            sb.append(e).append('\n');
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TreeSnapshot t && t.entries.equals(entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Entry plus the inode identity used to compute link groups. */
    private record RawEntry(Entry entry, Object inodeKey) {
    }

    private static TreeSnapshot finish(Map<String, RawEntry> raw) {
        Map<Object, String> firstPath = new LinkedHashMap<>();
        for (RawEntry r : raw.values()) {
            if (r.entry.type() == FileType.REGULAR && r.entry.nlink() > 1) {
                firstPath.putIfAbsent(r.inodeKey, r.entry.path());
            }
        }
        TreeMap<String, Entry> out = new TreeMap<>();
        for (RawEntry r : raw.values()) {
            Entry e = r.entry;
            String group = e.type() == FileType.REGULAR && e.nlink() > 1 ? firstPath.get(r.inodeKey) : null;
            out.put(e.path(), new Entry(e.path(), e.type(), e.mode(), e.uid(), e.gid(), e.nlink(), e.mtimeSec(),
                    e.mtimeNsec(), e.rdev(), e.size(), e.xattrs(), e.target(), e.sha256(), group));
        }
        return new TreeSnapshot(out);
    }

    private static String child(String parent, String name) {
        return parent.equals("/") ? "/" + name : parent + "/" + name;
    }

    private static void walkDisk(Path p, String path, Map<String, RawEntry> out) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        FileType type = FileType.fromMode(mode);
        if (type == null) {
            throw new IOException("unknown file type " + Integer.toOctalString(mode) + " at " + p);
        }
        FileTime mt = (FileTime) a.get("lastModifiedTime");
        long nanos = mt.to(TimeUnit.NANOSECONDS);
        long sec = Math.floorDiv(nanos, 1_000_000_000L);
        int nsec = (int) Math.floorMod(nanos, 1_000_000_000L);
        String target = null;
        String sha = null;
        long size = 0;
        if (type == FileType.SYMLINK) {
            target = Files.readSymbolicLink(p).toString();
            size = (Long) a.get("size");
        } else if (type == FileType.REGULAR) {
            size = (Long) a.get("size");
            MessageDigest md = sha256();
            try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
            sha = HexFormat.of().formatHex(md.digest());
        }
        int rdev = 0;
        if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
            rdev = newEncoding((Long) a.get("rdev"));
        }
        TreeMap<String, String> x = new TreeMap<>();
        LinuxXattrs.read(p).forEach((k, v) -> x.put(k, HexFormat.of().formatHex(v)));
        Entry e = new Entry(path, type, mode & 07777, (Integer) a.get("uid"), (Integer) a.get("gid"),
                (Integer) a.get("nlink"), sec, nsec, rdev, size, Collections.unmodifiableSortedMap(x), target, sha,
                null);
        out.put(path, new RawEntry(e, List.of(a.get("dev"), a.get("ino"))));
        if (type == FileType.DIRECTORY) {
            List<Path> kids = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                ds.forEach(kids::add);
            }
            for (Path k : kids) {
                walkDisk(k, child(path, k.getFileName().toString()), out);
            }
        }
    }

    private static void walkFs(RafsFileSystem fs, long ino, String path, Map<String, RawEntry> out, int depth)
            throws IOException {
        if (depth > 4096) {
            throw new IOException("directory nesting deeper than 4096 at " + path + " (loop?)");
        }
        InodeAttributes a = fs.getattr(ino);
        FileType type = a.type();
        String target = null;
        String sha = null;
        long size = 0;
        if (type == FileType.SYMLINK) {
            byte[] t = fs.readlink(ino);
            target = new String(t, StandardCharsets.UTF_8);
            size = a.size();
        } else if (type == FileType.REGULAR) {
            size = a.size();
            sha = readSha256(fs, ino, 1 << 20).sha256();
        }
        TreeMap<String, String> x = new TreeMap<>();
        for (String name : fs.listxattr(ino)) {
            byte[] v = fs.getxattr(ino, name).orElseThrow(
                    () -> new IOException("listed xattr " + name + " missing at " + path));
            x.put(name, HexFormat.of().formatHex(v));
        }
        boolean dev = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
        Entry e = new Entry(path, type, a.mode() & 07777, a.uid(), a.gid(), a.nlink(), a.mtimeSec(), a.mtimeNsec(),
                dev ? a.rdev() : 0, size, Collections.unmodifiableSortedMap(x), target, sha, null);
        out.put(path, new RawEntry(e, a.ino()));
        if (type == FileType.DIRECTORY) {
            for (DirEntry d : fs.readdir(ino)) {
                if (d.name().equals(".") || d.name().equals("..")) {
                    continue;
                }
                walkFs(fs, d.ino(), child(path, d.name()), out, depth + 1);
            }
        }
    }

    /** glibc 64-bit dev_t → Linux "new" 32-bit encoding (as RAFS stores it). */
    static int newEncoding(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return (int) ((minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12));
    }

    /** What {@link #readSha256} read: the byte count and the SHA-256 (hex) of the bytes. */
    public record FileDigest(long bytes, String sha256) {
    }

    /** Reads a regular file through {@code fs} to its end, {@code readSize} bytes a call, and digests it. */
    public static FileDigest readSha256(RafsFileSystem fs, long ino, int readSize) throws IOException {
        MessageDigest md = sha256();
        ByteBuffer buf = ByteBuffer.allocate(readSize);
        long off = 0;
        while (true) {
            buf.clear();
            int n = fs.read(ino, off, buf);
            if (n <= 0) {
                break;
            }
            md.update(buf.array(), 0, n);
            off += n;
        }
        return new FileDigest(off, HexFormat.of().formatHex(md.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}
