package dev.nydus4j.convert;

import dev.nydus4j.rafs.builder.TarEntries;

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
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** Reads a converted image into {@link FsEntry} form: through the RAFS read API, or from a mounted directory. */
final class ImageTree {
    private static final int MAX_DEPTH = 4096;

    private ImageTree() {
    }

    /** Every path of {@code fs}, with content digests (reads every byte through the image's chunk reader). */
    static SortedMap<String, FsEntry> of(RafsFileSystem fs) throws IOException {
        TreeMap<String, FsEntry> out = new TreeMap<>();
        walk(fs, fs.rootInode(), "/", out, 0);
        return out;
    }

    private static void walk(RafsFileSystem fs, long ino, String path, Map<String, FsEntry> out, int depth)
            throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException("directory nesting deeper than " + MAX_DEPTH + " at " + path);
        }
        InodeAttributes a = fs.getattr(ino);
        FileType type = a.type();
        String target = null;
        String sha = null;
        long size = 0;
        if (type == FileType.SYMLINK) {
            target = new String(fs.readlink(ino), StandardCharsets.UTF_8);
        } else if (type == FileType.REGULAR) {
            size = a.size();
            MessageDigest md = Manifest.sha256Digest();
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            for (long off = 0; ; ) {
                buf.clear();
                int n = fs.read(ino, off, buf);
                if (n <= 0) {
                    break;
                }
                md.update(buf.array(), 0, n);
                off += n;
            }
            sha = HexFormat.of().formatHex(md.digest());
        }
        TreeMap<String, String> x = new TreeMap<>();
        for (String name : fs.listxattr(ino)) {
            x.put(name, new String(fs.getxattr(ino, name).orElse(new byte[0]), StandardCharsets.UTF_8));
        }
        boolean dev = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
        out.put(path, new FsEntry(path, type, a.mode() & 07777, a.uid(), a.gid(), a.mtimeSec(), size, target,
                dev ? a.rdev() : 0, x, sha, type == FileType.REGULAR ? a.nlink() : 0, false));
        if (type == FileType.DIRECTORY) {
            for (DirEntry d : fs.readdir(ino)) {
                if (d.name().equals(".") || d.name().equals("..")) {
                    continue;
                }
                walk(fs, d.ino(), path.equals("/") ? "/" + d.name() : path + "/" + d.name(), out, depth + 1);
            }
        }
    }

    /**
     * Every path below a mounted image (lstat semantics). Extended attributes of every namespace are read through
     * libc ({@code llistxattr}/{@code lgetxattr}, as upstream's checker does); without libc they are left out of the
     * comparison ({@code xattrs} null), since the JDK alone reaches only {@code user.}.
     */
    static SortedMap<String, FsEntry> of(Path mountpoint) throws IOException {
        TreeMap<String, FsEntry> out = new TreeMap<>();
        walk(mountpoint, "/", out, 0);
        return out;
    }

    /** Whether {@link #of(Path)} compares xattrs (libc reachable). */
    static boolean mountXattrsCompared() {
        return dev.nydus4j.rafs.builder.NativeXattrs.complete();
    }

    private static Map<String, String> xattrsOf(Path p, FileType type) throws IOException {
        if (!mountXattrsCompared()) {
            return null;
        }
        Map<String, String> x = new TreeMap<>();
        dev.nydus4j.rafs.builder.NativeXattrs.read(p, type == FileType.SYMLINK)
                .forEach((k, v) -> x.put(k, new String(v, StandardCharsets.UTF_8)));
        return x;
    }

    private static void walk(Path p, String path, Map<String, FsEntry> out, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException("directory nesting deeper than " + MAX_DEPTH + " at " + path);
        }
        Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        FileType type = FileType.fromMode(mode);
        String target = null;
        String sha = null;
        long size = 0;
        if (type == FileType.SYMLINK) {
            target = Files.readSymbolicLink(p).toString();
        } else if (type == FileType.REGULAR) {
            size = (Long) a.get("size");
            MessageDigest md = Manifest.sha256Digest();
            try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
            sha = HexFormat.of().formatHex(md.digest());
        }
        boolean dev = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
        long rdev = dev ? (Long) a.get("rdev") : 0;
        int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfff));
        int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xff));
        FileTime mt = (FileTime) a.get("lastModifiedTime");
        out.put(path, new FsEntry(path, type, mode & 07777, (Integer) a.get("uid"), (Integer) a.get("gid"),
                mt.toInstant().getEpochSecond(), size, target, dev ? TarEntries.rdev(major, minor, path) : 0,
                xattrsOf(p, type), sha,
                type == FileType.REGULAR ? (Integer) a.get("nlink") : 0, false));
        if (type == FileType.DIRECTORY) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
                for (Path k : ds) {
                    String name = k.getFileName().toString();
                    walk(k, path.equals("/") ? "/" + name : path + "/" + name, out, depth + 1);
                }
            }
        }
    }
}
