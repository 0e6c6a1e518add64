package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/** Absolute paths of every node of a tree, in pre-order with children in name-byte order. */
final class TreePaths {
    private TreePaths() {
    }

    /** Path to node, root first ("/"), parents before children. */
    static Map<String, Node> of(RafsTree tree) {
        Map<String, Node> out = new LinkedHashMap<>();
        Deque<Map.Entry<String, Node>> stack = new ArrayDeque<>();
        stack.push(Map.entry("/", tree.root));
        while (!stack.isEmpty()) {
            Map.Entry<String, Node> e = stack.pop();
            out.put(e.getKey(), e.getValue());
            Node n = e.getValue();
            if (n.inode().isDirectory()) {
                // push in reverse so that the first child is visited first
                Node[] kids = n.children().toArray(new Node[0]);
                for (int i = kids.length - 1; i >= 0; i--) {
                    String p = e.getKey().equals("/") ? "/" + kids[i].nameString() : e.getKey() + "/" + kids[i].nameString();
                    stack.push(Map.entry(p, kids[i]));
                }
            }
        }
        return out;
    }
}
