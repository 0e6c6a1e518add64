package dev.nydus4j.rafs.tree;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.TreeMap;

/**
 * A directory entry of the in-memory tree: a name bound to an {@link Inode}. Directories keep their children
 * sorted by raw name bytes (memcmp order, as RAFS requires). Not thread-safe.
 */
public final class Node {
    private final byte[] name;
    private final Inode inode;
    private final TreeMap<byte[], Node> children = new TreeMap<>(Arrays::compareUnsigned);

    public Node(byte[] name, Inode inode) {
        this.name = name;
        this.inode = inode;
    }

    public Node(String name, Inode inode) {
        this(name.getBytes(StandardCharsets.UTF_8), inode);
    }

    /** Raw name bytes; the root has an empty name. */
    public byte[] name() {
        return name;
    }

    public String nameString() {
        return new String(name, StandardCharsets.UTF_8);
    }

    public Inode inode() {
        return inode;
    }

    public Node child(byte[] childName) {
        return children.get(childName);
    }

    public Node child(String childName) {
        return child(childName.getBytes(StandardCharsets.UTF_8));
    }

    /** Adds or replaces the child with the same name; returns the replaced one or null. */
    public Node putChild(Node child) {
        if (!inode.isDirectory()) {
            throw new IllegalStateException("'" + nameString() + "' is not a directory");
        }
        return children.put(child.name, child);
    }

    public Node removeChild(byte[] childName) {
        return children.remove(childName);
    }

    public void clearChildren() {
        children.clear();
    }

    /** Children sorted by name bytes (live view). */
    public Collection<Node> children() {
        return children.values();
    }

    @Override
    public String toString() {
        return "Node[" + nameString() + "]";
    }
}
