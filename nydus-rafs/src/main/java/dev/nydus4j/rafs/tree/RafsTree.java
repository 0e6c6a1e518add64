package dev.nydus4j.rafs.tree;

import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A whole image in memory: the tree, the blob table and filesystem-wide settings. The v6 writer turns this into
 * a bootstrap; readers produce it for merge, check and unpack. Not thread-safe.
 */
public final class RafsTree {
    public Node root;
    public final List<BlobInfo> blobs = new ArrayList<>();
    public int chunkSize = 0x100000;
    public CompressionAlgorithm compressor = CompressionAlgorithm.ZSTD;
    public DigestAlgorithm digester = DigestAlgorithm.BLAKE3;
    /** Whether uid/gid are meaningful (EXPLICIT_UID_GID). */
    public boolean explicitUidGid = true;
    /**
     * The superblock's HAS_XATTR flag (some inode has xattrs): nydusd serves xattr requests only when it is set or
     * its config forces them. True for trees not read from a bootstrap, whose xattrs are simply what they hold.
     */
    public boolean xattrFlag = true;
    /** Absolute paths whose data should be prefetched (directories mean everything below). */
    public final List<String> prefetchPaths = new ArrayList<>();

    public RafsTree(Node root) {
        this.root = root;
    }

    /**
     * The nodes of {@link #prefetchPaths}, in list order without repeats, for a writer's prefetch table; a path not
     * in the tree is left out with a warning.
     */
    public List<Node> prefetchNodes() {
        Set<Node> out = new LinkedHashSet<>();
        for (String path : prefetchPaths) {
            Node n = root;
            for (String part : path.split("/")) {
                if (part.isEmpty() || n == null) {
                    continue;
                }
                n = n.inode().isDirectory() ? n.child(part) : null;
            }
            if (n == null) {
                LoggerFactory.getLogger(RafsTree.class).warn("prefetch path '{}' is not in the image; ignored", path);
            } else {
                out.add(n);
            }
        }
        return new ArrayList<>(out);
    }
}
