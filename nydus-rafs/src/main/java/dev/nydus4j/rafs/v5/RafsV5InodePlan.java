package dev.nydus4j.rafs.v5;

import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;

/**
 * Everything the v5 writer decided about one inode-table slot (one tree entry; hard-link names have their own
 * slot and record): its index, i_ino, parent, children range, derived size/nlink/blocks/flags, digest and record
 * offset. Filled by {@link RafsV5Layout}; not thread-safe.
 */
final class RafsV5InodePlan {
    final Node node;
    final Inode inode;
    /** Name as stored: {@code "/"} for the root. */
    final byte[] name;
    /** Path for error messages. */
    final String path;
    final int index;
    long ino;
    long parentIno;
    long childIndex;
    long childCount;
    long nlink;
    long size;
    long blocks;
    long flags;
    int rdev;
    byte[] digest;
    /** Record offset in the bootstrap and record length (fixed part, name, symlink, xattrs, chunks). */
    long offset;
    long length;

    RafsV5InodePlan(Node node, byte[] name, String path, int index) {
        this.node = node;
        this.inode = node.inode();
        this.name = name;
        this.path = path;
        this.index = index;
    }
}
