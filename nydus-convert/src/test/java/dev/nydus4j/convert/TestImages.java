package dev.nydus4j.convert;

import dev.nydus4j.testkit.oci.LayeredImage;
import dev.nydus4j.testkit.oci.OciTools;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Random;

/** The multi-layer test images: busybox-static plus layers with whiteouts, opaque dirs, links, xattrs, big files. */
final class TestImages {
    static final int BIG_BYTES = 5_000_000;

    private TestImages() {
    }

    /**
     * Layer 1: busybox, a symlink, small files, a directory tree, a FIFO, a char device, a user xattr.
     * Layer 2: a deleted file, a replaced directory, a hard link, a large random file, setuid and owner changes.
     * Layer 3 (hand-made): an opaque directory with a new file, a file with PAX xattrs.
     * Layer 4: only a deletion, an empty directory and an empty file (no data).
     */
    static LayeredImage rich(Path dir, String tag, String arch, long seed) throws IOException, InterruptedException {
        LayeredImage img = LayeredImage.create(dir, tag);
        img.layer(root -> {
            Files.createDirectories(root.resolve("bin"));
            Files.createDirectories(root.resolve("etc"));
            Files.createDirectories(root.resolve("data/keep"));
            Files.createDirectories(root.resolve("opq/sub"));
            Files.createDirectories(root.resolve("srv"));
            Files.copy(OciTools.BUSYBOX, root.resolve("bin/busybox"));
            Files.createSymbolicLink(root.resolve("bin/sh"), Path.of("busybox"));
            Files.writeString(root.resolve("etc/motd"), "hello from " + tag + "\n");
            Files.writeString(root.resolve("data/a"), "a");
            Files.writeString(root.resolve("data/b"), "b");
            Files.writeString(root.resolve("data/keep/k"), "k");
            Files.writeString(root.resolve("opq/sub/x"), "x");
            Files.writeString(root.resolve("opq/z"), "z");
            setXattr(root.resolve("etc/motd"), "user.greeting", "hi");
            exec("mkfifo", root.resolve("data/fifo").toString());
            exec("mknod", root.resolve("data/null").toString(), "c", "1", "3");
        });
        img.layer(root -> {
            Files.delete(root.resolve("data/a"));
            Files.delete(root.resolve("opq/sub/x"));
            Files.delete(root.resolve("opq/sub"));
            Files.writeString(root.resolve("opq/y"), "y");
            Files.createLink(root.resolve("etc/motd2"), root.resolve("etc/motd"));
            byte[] big = new byte[BIG_BYTES];
            new Random(seed).nextBytes(big);
            Files.write(root.resolve("srv/big"), big);
            Files.writeString(root.resolve("data/suid"), "s");
            exec("chmod", "4755", root.resolve("data/suid").toString());
            exec("chown", "1000:1001", root.resolve("data/b").toString());
        });
        Path raw = dir.resolve("opaque-" + tag + ".tar");
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(raw))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            dirEntry(tar, "data/", 0750);
            file(tar, "data/.wh..wh..opq", "", 0644);
            file(tar, "data/fresh", "fresh after opaque\n", 0640);
            TarArchiveEntry x = new TarArchiveEntry("etc/with-xattr");
            x.setSize(3);
            x.setMode(0100600);
            x.setModTime(1_700_000_000_000L);
            x.addPaxHeader("SCHILY.xattr.user.color", "blue");
            x.addPaxHeader("SCHILY.xattr.trusted.note", "n");
            tar.putArchiveEntry(x);
            tar.write("xyz".getBytes(StandardCharsets.UTF_8));
            tar.closeArchiveEntry();
        }
        img.rawLayer(raw);
        // metadata only: no file data, so the nydus side has no blob for this layer
        img.layer(root -> {
            Files.delete(root.resolve("opq/z"));
            Files.createDirectories(root.resolve("empty-dir"));
            Files.createFile(root.resolve("empty-dir/empty-file"));
        });
        img.config(arch);
        return img;
    }

    /** One layer holding {@code data/big} with the same bytes as {@link #rich} made with {@code seed}. */
    static LayeredImage sharingBigFile(Path dir, String tag, long seed) throws IOException, InterruptedException {
        LayeredImage img = LayeredImage.create(dir, tag);
        img.layer(root -> {
            Files.createDirectories(root.resolve("data"));
            byte[] big = new byte[BIG_BYTES];
            new Random(seed).nextBytes(big);
            Files.write(root.resolve("data/big-copy"), big);
            Files.writeString(root.resolve("data/own"), "own file of " + tag);
        });
        img.config("amd64");
        return img;
    }

    /** A single hand-made layer (no umoci layer before it). */
    static LayeredImage rawOnly(Path dir, String tag, Path tar) throws IOException, InterruptedException {
        LayeredImage img = LayeredImage.create(dir, tag);
        img.rawLayer(tar);
        img.config("amd64");
        return img;
    }

    static void dirEntry(TarArchiveOutputStream tar, String name, int mode) throws IOException {
        TarArchiveEntry d = new TarArchiveEntry(name);
        d.setMode(040000 | mode);
        d.setModTime(1_700_000_000_000L);
        tar.putArchiveEntry(d);
        tar.closeArchiveEntry();
    }

    static void file(TarArchiveOutputStream tar, String name, String content, int mode) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(b.length);
        e.setMode(0100000 | mode);
        e.setModTime(1_700_000_000_000L);
        tar.putArchiveEntry(e);
        tar.write(b);
        tar.closeArchiveEntry();
    }

    /** Writes a plain tar with the given entries: name → content (names ending in "/" are directories). */
    static Path tar(Path file, String... nameContent) throws IOException {
        try (OutputStream out = Files.newOutputStream(file);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (int i = 0; i < nameContent.length; i += 2) {
                if (nameContent[i].endsWith("/")) {
                    dirEntry(tar, nameContent[i], 0755);
                } else {
                    file(tar, nameContent[i], nameContent[i + 1], 0644);
                }
            }
        }
        return file;
    }

    private static void setXattr(Path p, String name, String value) throws IOException {
        UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
        v.write(name.substring("user.".length()), ByteBuffer.wrap(value.getBytes(StandardCharsets.UTF_8)));
    }

    private static void exec(String... cmd) throws IOException {
        try {
            OciTools.run(cmd);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
