package dev.nydus4j.rafs;

import dev.nydus4j.storage.ChunkInfo;

import java.io.IOException;
import java.util.List;

/**
 * Where {@link RafsImage} finds the inodes it serves: the whole-image {@link InodeIndex} built at open, or the
 * on-demand {@link DirectIndex} over a RAFS v6 bootstrap. Implementations are thread-safe.
 */
interface InodeSource {
    long rootIno();

    /** The inode {@code ino}, or null when it is not an inode of the image. */
    IndexedInode get(long ino) throws IOException;

    /** Largest uncompressed chunk a read may need to hold (at least every chunk of every file). */
    int maxChunkSize();

    /** Adds every chunk the image may read, with its digest, to the per-blob lists (index = blob index). */
    void collectChunks(List<List<ChunkInfo>> infos, List<List<byte[]>> digests) throws IOException;

    /** Distinct inodes and data blocks of regular files ({@link RafsImage#stats()}). */
    long[] counts() throws IOException;

    /** Every inode number, ascending. */
    long[] sortedInos() throws IOException;
}
