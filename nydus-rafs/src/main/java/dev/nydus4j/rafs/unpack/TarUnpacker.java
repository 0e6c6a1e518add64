package dev.nydus4j.rafs.unpack;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Writes the whole tree of a {@link RafsFileSystem} as a POSIX (PAX) tar stream: a directory before its contents,
 * entries in directory order, uid/gid, mode, mtime with nanoseconds ({@code mtime} PAX record), xattrs as
 * {@code SCHILY.xattr.*} records, devices, fifos, symlinks, and hard links as link entries pointing at the first
 * name written. Long or non-ASCII paths and link targets go into PAX {@code path}/{@code linkpath} records with
 * their raw bytes; large numbers use the GNU/star base-256 encoding. File data is streamed one read buffer at a
 * time. Sockets cannot be stored in tar and are skipped with a warning.
 *
 * <p>The caller keeps ownership of the output stream: the archive is finished and flushed, not closed.
 */
public final class TarUnpacker {
    private static final Logger LOG = LoggerFactory.getLogger(TarUnpacker.class);
    private static final int READ_BUFFER = 1 << 20;
    private static final int USTAR_NAME_MAX = 100;

    private final RafsFileSystem fs;
    private final TarArchiveOutputStream tar;
    private final Map<Long, byte[]> firstPathOfIno = new HashMap<>();
    private final ByteBuffer readBuf = ByteBuffer.allocate(READ_BUFFER);
    private long paxCount;

    private TarUnpacker(RafsFileSystem fs, OutputStream out) {
        this.fs = fs;
        this.tar = new TarArchiveOutputStream(new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush(); // the caller owns the stream
            }
        }, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_TRUNCATE); // real long names travel in our PAX records
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
    }

    /** Writes every entry of {@code fs} to {@code out} as a tar archive. */
    public static void unpack(RafsFileSystem fs, OutputStream out) throws IOException {
        Objects.requireNonNull(fs, "fs is null");
        Objects.requireNonNull(out, "out is null");
        TarUnpacker u = new TarUnpacker(fs, out);
        u.writeTree();
    }

    private void writeTree() throws IOException {
        long root = fs.rootInode();
        writeEntry(root, "./".getBytes(StandardCharsets.US_ASCII));
        walk(root, new byte[0]);
        tar.finish();
        tar.close(); // closes only the non-closing wrapper
    }

    private void walk(long dir, byte[] prefix) throws IOException {
        List<DirEntry> entries = fs.readdir(dir);
        for (DirEntry e : entries) {
            if (e.name().equals(".") || e.name().equals("..")) {
                continue;
            }
            byte[] path = concat(prefix, e.rawName());
            if (e.type() == FileType.DIRECTORY) {
                byte[] dirPath = concat(path, new byte[]{'/'});
                writeEntry(e.ino(), dirPath);
                walk(e.ino(), dirPath);
            } else {
                writeEntry(e.ino(), path);
            }
        }
    }

    private void writeEntry(long ino, byte[] path) throws IOException {
        InodeAttributes a = fs.getattr(ino);
        FileType type = a.type();
        byte linkFlag;
        byte[] linkTarget = null;
        long size = 0;
        switch (type) {
            case DIRECTORY -> linkFlag = TarConstants.LF_DIR;
            case SYMLINK -> {
                linkFlag = TarConstants.LF_SYMLINK;
                linkTarget = fs.readlink(ino);
            }
            case CHAR_DEVICE -> linkFlag = TarConstants.LF_CHR;
            case BLOCK_DEVICE -> linkFlag = TarConstants.LF_BLK;
            case FIFO -> linkFlag = TarConstants.LF_FIFO;
            case REGULAR -> {
                linkFlag = TarConstants.LF_NORMAL;
                size = a.size();
            }
            case SOCKET -> {
                LOG.warn("skipping socket {}: tar cannot store sockets", new String(path, StandardCharsets.UTF_8));
                return;
            }
            default -> throw new IllegalStateException("unexpected type " + type);
        }
        if (type != FileType.DIRECTORY && a.nlink() > 1) {
            byte[] first = firstPathOfIno.putIfAbsent(ino, path);
            if (first != null) {
                linkFlag = TarConstants.LF_LINK;
                linkTarget = first;
                size = 0;
            }
        }
        PaxRecords pax = new PaxRecords();
        String headerName = ustarName(path, pax, "path");
        TarArchiveEntry entry = new TarArchiveEntry(headerName, linkFlag, true);
        entry.setMode(a.mode() & 07777);
        entry.setUserId(Integer.toUnsignedLong(a.uid()));
        entry.setGroupId(Integer.toUnsignedLong(a.gid()));
        entry.setUserName("");
        entry.setGroupName("");
        entry.setLastModifiedTime(FileTime.from(a.mtimeSec(), TimeUnit.SECONDS));
        pax.add("mtime", a.mtimeSec() + "." + String.format("%09d", a.mtimeNsec()));
        if (linkTarget != null) {
            entry.setLinkName(ustarName(linkTarget, pax, "linkpath"));
        }
        if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
            int rdev = a.rdev();
            entry.setDevMajor((rdev >>> 8) & 0xfff);
            entry.setDevMinor((rdev & 0xff) | ((rdev >>> 12) & 0xfff00));
        }
        if (linkFlag != TarConstants.LF_LINK) {
            for (String name : fs.listxattr(ino)) {
                byte[] value = fs.getxattr(ino, name).orElse(new byte[0]);
                pax.add("SCHILY.xattr." + name, value);
            }
        }
        entry.setSize(size);
        writePax(pax, a.mtimeSec());
        tar.putArchiveEntry(entry);
        if (linkFlag == TarConstants.LF_NORMAL) {
            copyData(ino, size);
        }
        tar.closeArchiveEntry();
    }

    private void copyData(long ino, long size) throws IOException {
        long off = 0;
        while (off < size) {
            readBuf.clear();
            int n = fs.read(ino, off, readBuf);
            if (n <= 0) {
                throw new IOException("inode " + ino + " ended at " + off + " of its " + size + " bytes");
            }
            tar.write(readBuf.array(), 0, n);
            off += n;
        }
    }

    /** The extended header carries its entry's mtime (not the clock), so unpacking an image twice gives the same bytes. */
    private void writePax(PaxRecords pax, long mtimeSec) throws IOException {
        byte[] data = pax.toByteArray();
        TarArchiveEntry x = new TarArchiveEntry("./PaxHeaders/" + (paxCount++), TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
        x.setSize(data.length);
        x.setMode(0644);
        x.setLastModifiedTime(FileTime.from(mtimeSec, TimeUnit.SECONDS));
        tar.putArchiveEntry(x);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    /**
     * The header's own name field: the path when it is short printable ASCII, else a truncated ASCII stand-in
     * with the raw bytes carried in a PAX record.
     */
    private static String ustarName(byte[] raw, PaxRecords pax, String key) {
        boolean ascii = true;
        for (byte b : raw) {
            if (b < 0x20 || b > 0x7e) {
                ascii = false;
                break;
            }
        }
        if (ascii && raw.length < USTAR_NAME_MAX) {
            return new String(raw, StandardCharsets.US_ASCII);
        }
        pax.add(key, raw);
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        for (int i = 0; i < raw.length && s.size() < USTAR_NAME_MAX - 1; i++) {
            s.write(raw[i] >= 0x20 && raw[i] <= 0x7e ? raw[i] : '_');
        }
        String standIn = s.toString(StandardCharsets.US_ASCII);
        // a stand-in cut right after a '/' would make commons-compress treat the entry as a directory (size 0)
        return standIn.endsWith("/") ? standIn.substring(0, standIn.length() - 1) + "_" : standIn;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
