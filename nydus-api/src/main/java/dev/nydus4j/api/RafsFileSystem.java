package dev.nydus4j.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * Read-only view of a mounted-in-process RAFS image (bootstrap plus its data blobs).
 *
 * <p>Implementations are thread-safe; every method may be called concurrently from FUSE worker threads.
 * Inode numbers are those a FUSE daemon serves: RAFS v6 uses the nid (hard links share it), RAFS v5 the
 * i_ino. The caller closes the file system; closing releases blob readers and caches.
 */
public interface RafsFileSystem extends AutoCloseable {

    /** Inode number of the root directory. */
    long rootInode();

    /** Attributes of an inode; throws {@link java.io.FileNotFoundException} for an unknown inode. */
    InodeAttributes getattr(long ino) throws IOException;

    /** Looks up {@code name} in directory {@code parent}; empty when absent. */
    Optional<InodeAttributes> lookup(long parent, String name) throws IOException;

    /** Resolves an absolute path ("/a/b") without following symlinks; empty when absent. */
    Optional<InodeAttributes> resolve(String path) throws IOException;

    /** All entries of a directory in on-disk (name byte) order, including "." and "..". */
    List<DirEntry> readdir(long ino) throws IOException;

    /** Target of a symlink as raw bytes. */
    byte[] readlink(long ino) throws IOException;

    /** Names of the extended attributes of an inode (full names, e.g. {@code user.foo}). */
    List<String> listxattr(long ino) throws IOException;

    /** Value of one extended attribute; empty when absent. */
    Optional<byte[]> getxattr(long ino, String name) throws IOException;

    /**
     * Reads file bytes at {@code offset} into {@code dst} (from its position up to its limit).
     *
     * @return number of bytes read, 0 at or past end of file
     */
    int read(long ino, long offset, ByteBuffer dst) throws IOException;

    /** Filesystem-wide figures (for statfs and inspect). */
    FsStats stats();

    @Override
    void close() throws IOException;

    /**
     * Filesystem-wide figures.
     *
     * @param version      RAFS version (5 or 6)
     * @param inodes       number of inodes
     * @param blockSize    block size reported to statfs
     * @param totalBlocks  blocks of data (uncompressed)
     * @param chunkSize    chunk size
     */
    record FsStats(int version, long inodes, int blockSize, long totalBlocks, int chunkSize) {
    }
}
