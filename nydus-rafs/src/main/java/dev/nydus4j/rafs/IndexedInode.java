package dev.nydus4j.rafs;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.tree.ChunkRef;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;

/**
 * Immutable snapshot of one inode as {@link RafsImage} serves it: attributes, xattrs, symlink target, the chunk
 * list with a sorted file-offset array for binary search, and for directories the parent and the sorted entries.
 * Thread-safe (never mutated after construction; arrays are not handed out). The {@link DirEntry} list of a
 * directory is built on its first {@link #dirents()} (name strings for every entry of a large image are not worth
 * building at open); racing first calls build equal lists and one wins.
 */
final class IndexedInode {
    final InodeAttributes attrs;
    final long parentIno;
    final byte[] symlinkTarget;
    final SortedMap<String, byte[]> xattrs;
    final ChunkRef[] chunks;
    /** {@code chunks[i].fileOffset()} for binary search. */
    final long[] chunkOffsets;
    /** Child names (without "." and "..") in name-byte order, their inode numbers and types (directories). */
    private final byte[][] childNames;
    private final long[] childInos;
    private final FileType[] childTypes;
    /** Directory entries including "." and "..", built on first use. */
    private volatile List<DirEntry> dirents;

    IndexedInode(InodeAttributes attrs, long parentIno, byte[] symlinkTarget, SortedMap<String, byte[]> xattrs,
                 ChunkRef[] chunks, byte[][] childNames, long[] childInos, FileType[] childTypes) {
        this.attrs = attrs;
        this.parentIno = parentIno;
        this.symlinkTarget = symlinkTarget;
        this.xattrs = xattrs;
        this.chunks = chunks;
        this.chunkOffsets = new long[chunks.length];
        for (int i = 0; i < chunks.length; i++) {
            chunkOffsets[i] = chunks[i].fileOffset();
        }
        this.childNames = childNames;
        this.childInos = childInos;
        this.childTypes = childTypes;
    }

    /** Directory entries including "." and ".." in name-byte order (directories), else empty. */
    List<DirEntry> dirents() {
        List<DirEntry> l = dirents;
        if (l == null) {
            l = attrs.isDirectory() ? buildDirents() : List.of();
            dirents = l;
        }
        return l;
    }

    private List<DirEntry> buildDirents() {
        List<DirEntry> all = new ArrayList<>(childNames.length + 2);
        all.add(new DirEntry(".", new byte[]{'.'}, attrs.ino(), FileType.DIRECTORY));
        all.add(new DirEntry("..", new byte[]{'.', '.'}, parentIno, FileType.DIRECTORY));
        for (int i = 0; i < childNames.length; i++) {
            all.add(new DirEntry(new String(childNames[i], StandardCharsets.UTF_8), childNames[i].clone(),
                    childInos[i], childTypes[i]));
        }
        all.sort((a, b) -> Arrays.compareUnsigned(a.rawName(), b.rawName()));
        return Collections.unmodifiableList(all);
    }

    /** Number of entries other than "." and ".." (directories), else 0. */
    int childCount() {
        return childNames.length;
    }

    /** Name of entry {@code i} in name-byte order (not a copy: not to be modified). */
    byte[] childName(int i) {
        return childNames[i];
    }

    long childIno(int i) {
        return childInos[i];
    }

    FileType childType(int i) {
        return childTypes[i];
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
