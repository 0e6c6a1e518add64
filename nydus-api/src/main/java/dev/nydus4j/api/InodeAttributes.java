package dev.nydus4j.api;

/**
 * What {@code stat(2)} reports for one inode of a RAFS image.
 *
 * @param ino       inode number as served (v6: nid, root as given by {@link RafsFileSystem#rootInode()}; v5: i_ino)
 * @param mode      POSIX mode including type bits
 * @param nlink     link count
 * @param uid       owner
 * @param gid       group
 * @param size      size in bytes (regular files: data; symlinks: target length; directories: data size)
 * @param blocks    512-byte blocks
 * @param mtimeSec  modification time, seconds
 * @param mtimeNsec modification time, nanoseconds part
 * @param rdev      device number (Linux "new" encoding) for character/block devices, else 0
 */
public record InodeAttributes(long ino, int mode, int nlink, int uid, int gid, long size, long blocks,
                              long mtimeSec, int mtimeNsec, int rdev) {

    public FileType type() {
        return FileType.fromMode(mode);
    }

    public boolean isDirectory() {
        return type() == FileType.DIRECTORY;
    }

    public boolean isRegular() {
        return type() == FileType.REGULAR;
    }

    public boolean isSymlink() {
        return type() == FileType.SYMLINK;
    }
}
