package dev.nydus4j.rafs.unpack;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Writes the tree of a {@link RafsFileSystem} into a new or empty directory, never outside it: every name is
 * checked (no {@code /}, NUL, {@code .} or {@code ..}), every path is built from the target one checked component
 * at a time, and nothing is opened through a symlink (new files are created with {@code CREATE_NEW} and
 * {@code NOFOLLOW_LINKS}, directories with {@code createDirectory}, so a name that already exists — including a
 * symlink placed by an earlier entry — fails instead of being followed).
 *
 * <p>Restores mode (including setuid/setgid/sticky), mtime, owner (when running as root), hard links, symlinks,
 * {@code user.*} xattrs, fifos and devices (through {@code mkfifo}/{@code mknod}, root only for devices).
 * Other xattr namespaces and sockets are skipped and counted in the {@link Result}. Not thread-safe; one call
 * per target.
 */
public final class DirectoryUnpacker {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryUnpacker.class);

    /**
     * What was written.
     *
     * @param entries names written
     * @param skipped names or attributes that could not be represented, one line each
     */
    public record Result(long entries, List<String> skipped) {
    }

    private final RafsFileSystem fs;
    private final boolean privileged;
    private final Map<Long, Path> firstPath = new HashMap<>();
    private final List<String> skipped = new ArrayList<>();
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    private long entries;

    private DirectoryUnpacker(RafsFileSystem fs, boolean privileged) {
        this.fs = fs;
        this.privileged = privileged;
    }

    /** Unpacks {@code fs} into {@code target}, which must not exist or be an empty directory. */
    public static Result unpack(RafsFileSystem fs, Path target) throws IOException {
        Objects.requireNonNull(fs, "fs is null");
        Objects.requireNonNull(target, "target is null");
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new FileAlreadyExistsException(target.toString(), null, "unpack target exists and is not a directory");
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(target)) {
                if (ds.iterator().hasNext()) {
                    throw new FileAlreadyExistsException(target.toString(), null, "unpack target directory is not empty");
                }
            }
        } else {
            Files.createDirectories(target);
        }
        DirectoryUnpacker u = new DirectoryUnpacker(fs, "root".equals(System.getProperty("user.name")));
        u.unpackDir(fs.rootInode(), target.toAbsolutePath().normalize());
        return new Result(u.entries, List.copyOf(u.skipped));
    }

    private void unpackDir(long dirIno, Path dir) throws IOException {
        for (DirEntry e : fs.readdir(dirIno)) {
            if (e.name().equals(".") || e.name().equals("..")) {
                continue;
            }
            Path p = child(dir, e);
            InodeAttributes a = fs.getattr(e.ino());
            entries++;
            if (a.type() != FileType.DIRECTORY && a.nlink() > 1) {
                Path first = firstPath.putIfAbsent(e.ino(), p);
                if (first != null) {
                    Files.createLink(p, first);
                    continue;
                }
            }
            switch (a.type()) {
                case DIRECTORY -> {
                    Files.createDirectory(p);
                    unpackDir(e.ino(), p);
                }
                case REGULAR -> writeFile(e.ino(), a.size(), p);
                case SYMLINK -> createSymlink(p, new String(fs.readlink(e.ino()), StandardCharsets.UTF_8));
                case FIFO -> run(p, "mkfifo", p.toString());
                case CHAR_DEVICE, BLOCK_DEVICE -> {
                    if (!privileged) {
                        skipped.add(p + ": device needs root");
                        continue;
                    }
                    int rdev = a.rdev();
                    run(p, "mknod", p.toString(), a.type() == FileType.CHAR_DEVICE ? "c" : "b",
                            Integer.toString((rdev >>> 8) & 0xfff), Integer.toString((rdev & 0xff) | ((rdev >>> 12) & 0xfff00)));
                }
                case SOCKET -> {
                    skipped.add(p + ": socket");
                    continue;
                }
                default -> throw new IllegalStateException("unexpected type " + a.type());
            }
            applyAttributes(e.ino(), a, p);
        }
        applyAttributes(dirIno, fs.getattr(dirIno), dir);
    }

    /** Resolves one checked name below {@code dir}; the result is always a direct child of dir. */
    private static Path child(Path dir, DirEntry e) throws CorruptImageException {
        byte[] raw = e.rawName();
        boolean bad = raw.length == 0 || (raw.length == 1 && raw[0] == '.') || (raw.length == 2 && raw[0] == '.' && raw[1] == '.');
        for (byte b : raw) {
            bad |= b == '/' || b == 0;
        }
        Path p = bad ? null : dir.resolve(e.name());
        if (p == null || !dir.equals(p.getParent()) || !p.getFileName().toString().equals(e.name())) {
            throw new CorruptImageException("image", -1, "refusing to unpack entry named '" + e.name() + "' (inode "
                    + e.ino() + "): names must not be empty, '.', '..' or contain '/' or NUL");
        }
        return p;
    }

    private void writeFile(long ino, long size, Path p) throws IOException {
        try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            long off = 0;
            while (off < size) {
                buf.clear();
                int n = fs.read(ino, off, buf);
                if (n <= 0) {
                    throw new IOException("inode " + ino + " ended at " + off + " of its " + size + " bytes");
                }
                out.write(buf.array(), 0, n);
                off += n;
            }
        }
    }

    private void applyAttributes(long ino, InodeAttributes a, Path p) throws IOException {
        boolean symlink = a.type() == FileType.SYMLINK;
        if (privileged) {
            Files.setAttribute(p, "unix:uid", a.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", a.gid(), LinkOption.NOFOLLOW_LINKS);
        }
        if (!symlink) {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            for (String name : fs.listxattr(ino)) {
                if (name.startsWith("user.") && view != null && a.type() != FileType.FIFO && !isDevice(a)) {
                    view.write(name.substring("user.".length()), ByteBuffer.wrap(fs.getxattr(ino, name).orElse(new byte[0])));
                } else {
                    skipped.add(p + ": xattr " + name);
                }
            }
            // after chown, which clears setuid/setgid; path-based chmod: p is not a symlink (we just created it),
            // and the no-follow variant opens the file, which blocks on fifos and fails on absent devices
            Files.setAttribute(p, "unix:mode", a.mode() & 07777);
        }
        if (a.type() == FileType.FIFO || isDevice(a)) {
            // java.nio opens the file to set times, which blocks on a fifo: use touch(1) instead
            run(p, "touch", "-h", "-m", "-d", "@" + a.mtimeSec() + "." + String.format("%09d", a.mtimeNsec()), "--",
                    p.toString());
            return;
        }
        FileTime mtime = FileTime.from(Instant.ofEpochSecond(a.mtimeSec(), a.mtimeNsec()));
        try {
            LinkOption[] opts = symlink ? new LinkOption[]{LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
            Files.getFileAttributeView(p, BasicFileAttributeView.class, opts).setTimes(mtime, null, null);
        } catch (IOException | UnsupportedOperationException e) {
            skipped.add(p + ": mtime (" + e.getMessage() + ")");
        }
    }

    /**
     * java.nio normalizes link targets ("a//b/" becomes "a/b"); targets it would change are created with
     * {@code ln -sT} so the stored bytes survive.
     */
    private static void createSymlink(Path p, String target) throws IOException {
        Path t = p.getFileSystem().getPath(target);
        if (t.toString().equals(target)) {
            Files.createSymbolicLink(p, t);
        } else {
            run(p, "ln", "-s", "-T", "--", target, p.toString());
        }
    }

    private static boolean isDevice(InodeAttributes a) {
        return a.type() == FileType.CHAR_DEVICE || a.type() == FileType.BLOCK_DEVICE;
    }

    private static void run(Path p, String... cmd) throws IOException {
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!proc.waitFor(30, TimeUnit.SECONDS) || proc.exitValue() != 0) {
                throw new IOException("creating " + p + " with " + cmd[0] + " failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while creating " + p, e);
        } finally {
            proc.destroy();
        }
        LOG.debug("created {} with {}", p, cmd[0]);
    }
}
