package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

import java.io.IOException;

/** How tar entries map onto RAFS inodes: entry types and device numbers (shared with nydusify's checker). */
public final class TarEntries {
    private TarEntries() {
    }

    /** The file type of a tar entry; hard links and other kinds are the caller's (or an error naming the entry). */
    public static FileType type(TarArchiveEntry e, String what) throws IOException {
        if (e.isDirectory()) {
            return FileType.DIRECTORY;
        }
        if (e.isSymbolicLink()) {
            return FileType.SYMLINK;
        }
        if (e.isCharacterDevice()) {
            return FileType.CHAR_DEVICE;
        }
        if (e.isBlockDevice()) {
            return FileType.BLOCK_DEVICE;
        }
        if (e.isFIFO()) {
            return FileType.FIFO;
        }
        if (e.isFile()) {
            return FileType.REGULAR;
        }
        throw new IOException(what + ": unsupported tar entry type '" + (char) e.getLinkFlag() + "'");
    }

    /** Linux "new" device encoding (RAFS spec 3.8); major 12 bits, minor 20 bits. */
    public static int rdev(int major, int minor, String what) throws IOException {
        if (major < 0 || major > 0xfff || minor < 0 || minor > 0xfffff) {
            throw new IOException(what + ": device " + major + ":" + minor
                    + " does not fit the 32-bit encoding (major <= 4095, minor <= 1048575)");
        }
        return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
    }
}
