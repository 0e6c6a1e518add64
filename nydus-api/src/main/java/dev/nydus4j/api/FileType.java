package dev.nydus4j.api;

/** POSIX file types as stored in RAFS inodes; {@link #direntType()} is the EROFS/Linux dirent code. */
public enum FileType {
    REGULAR(0100000, 1),
    DIRECTORY(0040000, 2),
    CHAR_DEVICE(0020000, 3),
    BLOCK_DEVICE(0060000, 4),
    FIFO(0010000, 5),
    SOCKET(0140000, 6),
    SYMLINK(0120000, 7);

    /** Mask of the type bits in {@code st_mode}. */
    public static final int S_IFMT = 0170000;

    private final int modeBits;
    private final int direntType;

    FileType(int modeBits, int direntType) {
        this.modeBits = modeBits;
        this.direntType = direntType;
    }

    public int modeBits() {
        return modeBits;
    }

    /** EROFS dirent {@code e_file_type} / Linux {@code DT_*} >> 0 mapping used by RAFS v6. */
    public int direntType() {
        return direntType;
    }

    /** Type of a POSIX mode, or {@code null} when the type bits are not a known type. */
    public static FileType fromMode(int mode) {
        int t = mode & S_IFMT;
        for (FileType f : values()) {
            if (f.modeBits == t) {
                return f;
            }
        }
        return null;
    }

    /** Type for an EROFS dirent code, or {@code null} if unknown. */
    public static FileType fromDirentType(int code) {
        for (FileType f : values()) {
            if (f.direntType == code) {
                return f;
            }
        }
        return null;
    }
}
