package dev.nydus4j.rafs.tree;

import dev.nydus4j.api.FileType;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Mutable in-memory inode used by the builder, the merger and the v6 writer, and produced by the readers
 * ({@code toTree()}). Hard links are several {@link Node}s sharing one Inode. Not thread-safe.
 */
public final class Inode {
    /** Inode number as stored in the image the tree was read from (v6 nid, v5 i_ino); 0 for new nodes. */
    public long ino;
    public int mode;
    public int uid;
    public int gid;
    public long mtimeSec;
    public int mtimeNsec;
    /** Device number in Linux "new" encoding, for character and block devices. */
    public int rdev;
    /** File size for regular files; ignored (derived) for directories and symlinks. */
    public long size;
    /** Symlink target bytes (symlinks only). */
    public byte[] symlinkTarget;
    /** Extended attributes by full name (e.g. {@code user.a}), sorted. */
    public final TreeMap<String, byte[]> xattrs = new TreeMap<>();
    /** Chunks in file order (regular files only). */
    public final List<ChunkRef> chunks = new ArrayList<>();

    public Inode(int mode) {
        this.mode = mode;
    }

    public FileType type() {
        return FileType.fromMode(mode);
    }

    public boolean isDirectory() {
        return type() == FileType.DIRECTORY;
    }

    public boolean isRegular() {
        return type() == FileType.REGULAR;
    }

    /** Copy of the attributes, xattrs and chunk list (not of the directory children, which live in Node). */
    public Inode copy() {
        Inode c = new Inode(mode);
        c.uid = uid;
        c.gid = gid;
        c.mtimeSec = mtimeSec;
        c.mtimeNsec = mtimeNsec;
        c.rdev = rdev;
        c.size = size;
        c.symlinkTarget = symlinkTarget;
        c.xattrs.putAll(xattrs);
        c.chunks.addAll(chunks);
        return c;
    }
}
