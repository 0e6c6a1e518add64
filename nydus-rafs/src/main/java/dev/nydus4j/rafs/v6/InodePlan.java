package dev.nydus4j.rafs.v6;

import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;

/**
 * Writer-side placement of one inode (all names of a hard link share one plan): where the inode goes, its data
 * layout and the sizes derived from the tree. Filled in by {@link MetadataLayout}; not thread-safe.
 */
final class InodePlan {
    final Inode inode;
    /** First name that reached the inode (directories: the only one). */
    final Node node;
    final String path;
    /** Sequential inode number (1 = root), written to i_ino. */
    final long ino;
    long nlink;
    int xattrSize;
    /** i_size: file size, directory data size or symlink length. */
    long size;
    /** Directories only. */
    DirectoryBlocks dirBlocks;
    int layout;
    /** Number of whole data blocks outside the inode (FLAT_* layouts). */
    int plainBlocks;
    long firstBlock;
    long offset;
    long nid;

    InodePlan(Inode inode, Node node, String path, long ino) {
        this.inode = inode;
        this.node = node;
        this.path = path;
        this.ino = ino;
    }

    /** Bytes of data in the FLAT_INLINE tail (last block), 0 for other layouts. */
    int tailSize() {
        return layout == DiskInode.LAYOUT_FLAT_INLINE
                ? (int) (size - (long) plainBlocks * ErofsSuperBlock.BLOCK_SIZE) : 0;
    }
}
