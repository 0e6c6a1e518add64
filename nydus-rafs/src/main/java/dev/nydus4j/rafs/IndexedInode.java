package dev.nydus4j.rafs;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.tree.ChunkRef;

import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;

/**
 * Immutable snapshot of one inode as {@link RafsImage} serves it: attributes, xattrs, symlink target, the chunk
 * list with a sorted file-offset array for binary search, and for directories the parent and the sorted entries.
 * Thread-safe (never mutated after construction; arrays are not handed out).
 */
final class IndexedInode {
    final InodeAttributes attrs;
    final long parentIno;
    final byte[] symlinkTarget;
    final SortedMap<String, byte[]> xattrs;
    final ChunkRef[] chunks;
    /** {@code chunks[i].fileOffset()} for binary search. */
    final long[] chunkOffsets;
    /** Directory entries including "." and ".." in name-byte order (directories), else empty. */
    final List<DirEntry> dirents;
    /** Child names (without "." and "..") in name-byte order and their inode numbers (directories). */
    private final byte[][] childNames;
    private final long[] childInos;

    IndexedInode(InodeAttributes attrs, long parentIno, byte[] symlinkTarget, SortedMap<String, byte[]> xattrs,
                 ChunkRef[] chunks, List<DirEntry> dirents, byte[][] childNames, long[] childInos) {
        this.attrs = attrs;
        this.parentIno = parentIno;
        this.symlinkTarget = symlinkTarget;
        this.xattrs = xattrs;
        this.chunks = chunks;
        this.chunkOffsets = new long[chunks.length];
        for (int i = 0; i < chunks.length; i++) {
            chunkOffsets[i] = chunks[i].fileOffset();
        }
        this.dirents = dirents;
        this.childNames = childNames;
        this.childInos = childInos;
    }

    /** Inode number of child {@code name}, or -1. */
    long child(byte[] name) {
        int lo = 0;
        int hi = childNames.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(childNames[mid], name);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return childInos[mid];
            }
        }
        return -1;
    }

    /** Index of the last chunk starting at or before {@code offset}, or -1. */
    int chunkAtOrBefore(long offset) {
        int i = Arrays.binarySearch(chunkOffsets, offset);
        return i >= 0 ? i : -i - 2;
    }
}
