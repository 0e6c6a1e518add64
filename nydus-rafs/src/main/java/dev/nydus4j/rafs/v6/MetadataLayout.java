package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writer layout of the metadata area (spec 3.7, recipe 4): validates the tree, numbers inodes breadth-first,
 * computes nlink and directory sizes, then places every inode (root at nid 128) followed by its xattrs and its
 * chunk addresses or inline tail, keeping inline tails inside one block; whole data blocks follow the inodes.
 * Linear in the number of entries.
 */
final class MetadataLayout {
    static final int BLOCK = ErofsSuperBlock.BLOCK_SIZE;
    static final int MAX_NAME = 255;
    static final int MAX_SYMLINK = 4096;
    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    final List<InodePlan> plans = new ArrayList<>();
    final Map<Inode, InodePlan> byInode = new IdentityHashMap<>();
    /** File offset just after the last data block (block aligned). */
    long end;

    private final RafsTree tree;
    private final int chunkSize;

    private MetadataLayout(RafsTree tree) {
        this.tree = tree;
        this.chunkSize = tree.chunkSize;
    }

    /** Plans the tree with the metadata area starting at block {@code metaBlkaddr}. */
    static MetadataLayout plan(RafsTree tree, long metaBlkaddr) {
        MetadataLayout l = new MetadataLayout(tree);
        l.collect();
        l.place(metaBlkaddr * BLOCK);
        return l;
    }

    private void collect() {
        if (tree.root == null || !tree.root.inode().isDirectory()) {
            throw new IllegalArgumentException("the tree root must be a directory");
        }
        InodePlan root = newPlan(tree.root, "/");
        ArrayDeque<InodePlan> dirs = new ArrayDeque<>();
        dirs.add(root);
        Map<InodePlan, InodePlan> parentOf = new IdentityHashMap<>();
        parentOf.put(root, root);
        while (!dirs.isEmpty()) {
            InodePlan dir = dirs.poll();
            List<DirectoryBlocks.Entry> entries = new ArrayList<>(dir.node.children().size() + 2);
            int subdirs = 0;
            for (Node child : dir.node.children()) {
                String childPath = (dir.path.equals("/") ? "/" : dir.path + "/") + child.nameString();
                checkName(child.name(), childPath);
                InodePlan p = byInode.get(child.inode());
                if (p == null) {
                    p = newPlan(child, childPath);
                    if (child.inode().isDirectory()) {
                        parentOf.put(p, dir);
                        dirs.add(p);
                    }
                } else if (child.inode().isDirectory()) {
                    throw new IllegalArgumentException("directory '" + childPath + "' is the same inode as '"
                            + p.path + "': directories cannot be hard-linked");
                }
                if (child.inode().isDirectory()) {
                    subdirs++;
                } else {
                    p.nlink++;
                }
                entries.add(new DirectoryBlocks.Entry(child.name(), p));
            }
            dir.nlink = 2L + subdirs;
            entries.add(new DirectoryBlocks.Entry(DOT, dir));
            entries.add(new DirectoryBlocks.Entry(DOTDOT, parentOf.get(dir)));
            entries.sort((a, b) -> Arrays.compareUnsigned(a.name(), b.name()));
            dir.dirBlocks = new DirectoryBlocks(entries);
            dir.size = dir.dirBlocks.size();
        }
    }

    private InodePlan newPlan(Node node, String path) {
        Inode in = node.inode();
        FileType type = in.type();
        if (type == null) {
            throw new IllegalArgumentException("'" + path + "' has mode 0" + Integer.toOctalString(in.mode)
                    + " without a known file type");
        }
        if ((in.mode & ~0xFFFF) != 0) {
            throw new IllegalArgumentException("'" + path + "' mode 0" + Integer.toOctalString(in.mode)
                    + " does not fit 16 bits");
        }
        InodePlan p = new InodePlan(in, node, path, plans.size() + 1L);
        p.xattrSize = InlineXattrs.encodedSize(in.xattrs, path);
        switch (type) {
            case SYMLINK: {
                byte[] t = in.symlinkTarget;
                if (t == null || t.length < 1 || t.length > MAX_SYMLINK) {
                    throw new IllegalArgumentException("symlink '" + path + "' target must be 1..4096 bytes, got "
                            + (t == null ? "none" : t.length + " bytes"));
                }
                p.size = t.length;
                break;
            }
            case REGULAR:
                checkChunks(in, path);
                p.size = in.size;
                break;
            default:
                p.size = 0;
        }
        plans.add(p);
        byInode.put(in, p);
        return p;
    }

    private static void checkName(byte[] name, String path) {
        if (name.length < 1 || name.length > MAX_NAME) {
            throw new IllegalArgumentException("name of '" + path + "' must be 1..255 bytes, got " + name.length);
        }
        if (Arrays.equals(name, DOT) || Arrays.equals(name, DOTDOT)) {
            throw new IllegalArgumentException("'" + path + "': '.' and '..' cannot be stored as names");
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                throw new IllegalArgumentException("name of '" + path + "' must not contain '/' or NUL");
            }
        }
    }

    private void checkChunks(Inode in, String path) {
        if (in.size < 0) {
            throw new IllegalArgumentException("'" + path + "' has negative size " + in.size);
        }
        long n = (in.size + chunkSize - 1) / chunkSize;
        if (in.chunks.size() != n) {
            throw new IllegalArgumentException("'" + path + "' of " + in.size + " bytes needs " + n + " chunks of "
                    + chunkSize + " bytes, has " + in.chunks.size());
        }
        for (int i = 0; i < n; i++) {
            ChunkRef c = in.chunks.get(i);
            String where = "chunk " + i + " of '" + path + "'";
            if (c.blobIndex() < 0 || c.blobIndex() >= tree.blobs.size()) {
                throw new IllegalArgumentException(where + " refers to blob " + c.blobIndex() + ", the image has "
                        + tree.blobs.size() + " blobs");
            }
            BlobInfo blob = tree.blobs.get(c.blobIndex());
            long expect = Math.min(chunkSize, in.size - (long) i * chunkSize);
            if (c.info().uncompressedSize() != expect) {
                throw new IllegalArgumentException(where + " must have " + expect + " plain bytes, has "
                        + c.info().uncompressedSize());
            }
            if (c.info().index() < 0 || c.info().index() > ChunkAddress.MAX_CHUNK_INDEX
                    || c.info().index() >= blob.chunkCount()) {
                throw new IllegalArgumentException(where + " has chunk index " + c.info().index() + "; must be < 2^24"
                        + " and < chunk count " + blob.chunkCount() + " of blob " + blob.blobId());
            }
            long uo = c.info().uncompressedOffset();
            if (uo < 0 || uo % BLOCK != 0 || uo + expect > blob.uncompressedSize()) {
                throw new IllegalArgumentException(where + " has uncompressed offset " + uo + "; must be 4096-aligned"
                        + " and inside the blob's " + blob.uncompressedSize() + " uncompressed bytes");
            }
            if (c.digest() == null || c.digest().length != ChunkRecord.DIGEST_SIZE) {
                throw new IllegalArgumentException(where + " needs a 32-byte digest");
            }
        }
    }

    /** Assigns offsets/nids (root first at metaBase + 4096 = nid 128) and data blocks after the inodes. */
    private void place(long metaBase) {
        long cursor = metaBase + BLOCK;
        for (InodePlan p : plans) {
            long base = ExtendedInode.SIZE + p.xattrSize;
            long length;
            boolean mustFitBlock;
            FileType type = p.inode.type();
            if (type == FileType.DIRECTORY || type == FileType.SYMLINK) {
                int nb = (int) ((p.size + BLOCK - 1) / BLOCK);
                long tail = p.size - (long) (nb - 1) * BLOCK;
                if (p.size % BLOCK != 0 && base + tail <= BLOCK) {
                    p.layout = DiskInode.LAYOUT_FLAT_INLINE;
                    p.plainBlocks = nb - 1;
                    length = base + tail;
                    mustFitBlock = true;
                } else {
                    p.layout = DiskInode.LAYOUT_FLAT_PLAIN;
                    p.plainBlocks = nb;
                    length = base;
                    mustFitBlock = base <= BLOCK;
                }
            } else if (type == FileType.REGULAR) {
                p.layout = DiskInode.LAYOUT_CHUNK_BASED;
                length = ((base + 7) & ~7L) + (long) p.inode.chunks.size() * ChunkAddress.SIZE;
                // inode + xattrs stay in one block; 8-byte chunk addresses never straddle one
                mustFitBlock = false;
                if (base <= BLOCK && cursor % BLOCK + base > BLOCK) {
                    cursor = alignUp(cursor, BLOCK);
                }
            } else {
                p.layout = DiskInode.LAYOUT_FLAT_PLAIN;
                length = base;
                mustFitBlock = base <= BLOCK;
            }
            if (mustFitBlock && cursor % BLOCK + length > BLOCK) {
                cursor = alignUp(cursor, BLOCK);
            } else if (base > BLOCK) {
                // xattrs larger than a block: start at a block boundary so that at least the inode is whole
                cursor = alignUp(cursor, BLOCK);
            }
            p.offset = cursor;
            p.nid = (cursor - metaBase) >> DiskInode.NID_SHIFT;
            cursor = alignUp(cursor + length, 1 << DiskInode.NID_SHIFT);
        }
        long data = alignUp(cursor, BLOCK);
        for (InodePlan p : plans) {
            if (p.plainBlocks > 0) {
                p.firstBlock = data / BLOCK;
                data += (long) p.plainBlocks * BLOCK;
            }
        }
        end = data;
        if (end > RafsV6Reader.MAX_BOOTSTRAP_SIZE) {
            throw new IllegalArgumentException("the bootstrap would be " + end + " bytes; at most "
                    + RafsV6Reader.MAX_BOOTSTRAP_SIZE + " are supported");
        }
    }

    static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }
}
