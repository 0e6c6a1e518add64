package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The tree of one layer while its entries arrive in archive order: normalises entry names, creates implicit
 * parent directories, refuses names that escape the root or pass through a symlink or a non-directory, and
 * applies "later entry wins" as tar extraction does. Not thread-safe.
 */
final class LayerTree {
    /** Linux NAME_MAX. */
    static final int MAX_NAME_BYTES = 255;
    /** Mode of directories that appear only as parents of other entries. */
    static final int IMPLICIT_DIR_MODE = 040755;
    /**
     * mtime nanoseconds that mark a directory the layer only implies (no tar entry of its own, as umoci writes
     * for unchanged parents). Such a directory must not override the attributes of the lower layer's directory
     * when layers are merged, and the mark has to survive the per-layer bootstrap, hence a value in the image
     * itself. {@link Merger} clears it in merged trees.
     */
    static final int IMPLICIT_DIR_MTIME_NSEC = 999_999_999;

    private final Node root;

    LayerTree() {
        this.root = new Node(new byte[0], implicitDirectory());
    }

    static Inode implicitDirectory() {
        Inode i = new Inode(IMPLICIT_DIR_MODE);
        i.mtimeNsec = IMPLICIT_DIR_MTIME_NSEC;
        return i;
    }

    /** Whether a directory was only implied by its layer (see {@link #IMPLICIT_DIR_MTIME_NSEC}). */
    static boolean isImplicit(Inode i) {
        return i.isDirectory() && i.mode == IMPLICIT_DIR_MODE && i.mtimeSec == 0 && i.uid == 0 && i.gid == 0
                && i.mtimeNsec == IMPLICIT_DIR_MTIME_NSEC && i.xattrs.isEmpty();
    }

    Node root() {
        return root;
    }

    /**
     * Splits an entry name into components: drops empty and "." components, resolves ".." inside the tree and
     * rejects absolute names, names escaping the root and components longer than 255 bytes. An empty list
     * means the root itself; "/" is accepted as the root's own entry (umoci 0.4.7's {@code insert} writes it).
     */
    static List<byte[]> normalise(String name, String what) throws IOException {
        if (name.startsWith("/") && !name.chars().allMatch(c -> c == '/' || c == '.')) {
            throw new IOException(what + ": absolute name '" + name + "' is not allowed in a layer");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IOException(what + ": name contains a NUL byte");
        }
        List<byte[]> out = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (out.isEmpty()) {
                    throw new IOException(what + ": name '" + name + "' escapes the root");
                }
                out.remove(out.size() - 1);
                continue;
            }
            byte[] b = c.getBytes(StandardCharsets.UTF_8);
            if (b.length > MAX_NAME_BYTES) {
                throw new IOException(what + ": component of " + b.length + " bytes exceeds " + MAX_NAME_BYTES
                        + " in '" + name + "'");
            }
            out.add(b);
        }
        return out;
    }

    /**
     * Whether an entry at {@code path} would sit below a node of this layer that is not a directory (umoci writes
     * a replaced directory as the new file followed by whiteouts of the old directory's entries).
     */
    boolean parentIsNonDirectory(List<byte[]> path) {
        Node n = root;
        for (int i = 0; i < path.size() - 1; i++) {
            n = n.child(path.get(i));
            if (n == null) {
                return false;
            }
            if (!n.inode().isDirectory()) {
                return true;
            }
        }
        return false;
    }

    /** The node at {@code path}, or null; never follows symlinks. */
    Node lookup(List<byte[]> path) {
        Node n = root;
        for (byte[] c : path) {
            if (!n.inode().isDirectory()) {
                return null;
            }
            n = n.child(c);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    /** The directory that will hold {@code path}'s last component, creating missing parents. */
    private Node parentOf(List<byte[]> path, String what) throws IOException {
        Node n = root;
        StringBuilder sofar = new StringBuilder();
        for (int i = 0; i < path.size() - 1; i++) {
            byte[] c = path.get(i);
            sofar.append('/').append(new String(c, StandardCharsets.UTF_8));
            Node next = n.child(c);
            if (next == null) {
                next = new Node(c, implicitDirectory());
                n.putChild(next);
            } else if (next.inode().type() == FileType.SYMLINK) {
                throw new IOException(what + ": parent '" + sofar + "' is a symlink; refusing to place an entry"
                        + " under it");
            } else if (!next.inode().isDirectory()) {
                throw new IOException(what + ": parent '" + sofar + "' is a " + next.inode().type()
                        + ", not a directory");
            }
            n = next;
        }
        return n;
    }

    /**
     * Places {@code inode} at {@code path}. A directory over an existing directory takes over its attributes and
     * keeps the children; anything else replaces what was there.
     */
    Node put(List<byte[]> path, Inode inode, String what) throws IOException {
        if (path.isEmpty()) {
            if (!inode.isDirectory()) {
                throw new IOException(what + ": the root entry must be a directory, found " + inode.type());
            }
            copyAttributes(inode, root.inode());
            return root;
        }
        Node parent = parentOf(path, what);
        byte[] name = path.get(path.size() - 1);
        Node existing = parent.child(name);
        if (existing != null && existing.inode().isDirectory() && inode.isDirectory()) {
            copyAttributes(inode, existing.inode());
            return existing;
        }
        Node n = new Node(name, inode);
        parent.putChild(n);
        return n;
    }

    /** Adds another name for an existing inode (tar hard link). */
    Node link(List<byte[]> path, Inode target, String what) throws IOException {
        if (path.isEmpty()) {
            throw new IOException(what + ": a hard link cannot replace the root");
        }
        Node parent = parentOf(path, what);
        Node n = new Node(path.get(path.size() - 1), target);
        parent.putChild(n);
        return n;
    }

    private static void copyAttributes(Inode from, Inode to) {
        to.mode = from.mode;
        to.uid = from.uid;
        to.gid = from.gid;
        to.mtimeSec = from.mtimeSec;
        to.mtimeNsec = from.mtimeNsec;
        to.xattrs.clear();
        to.xattrs.putAll(from.xattrs);
    }
}
