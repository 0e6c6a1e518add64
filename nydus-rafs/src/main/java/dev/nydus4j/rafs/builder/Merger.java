package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Overlays per-layer trees (lowest first) into one flattened image, as {@code nydus-image merge} does (RAFS spec
 * 10.4): an upper entry replaces the lower one with the same path; directories present in both are merged and
 * take the upper directory's attributes; {@code .wh.NAME} removes NAME of the layers below; {@code .wh..wh..opq}
 * empties the lower directory before the same layer's entries are added. Whiteout markers never appear in the
 * result (not even those of the bottom layer, which have nothing to delete).
 *
 * <p>Blob tables are concatenated in layer order with identical blob ids kept once, and every chunk reference is
 * rewritten to the merged index. Per-source overrides replace a layer's own blob id, compressed size and ToC
 * digest/size (converter flags {@code --blob-digests}, {@code --blob-sizes}, {@code --blob-toc-digests},
 * {@code --blob-toc-sizes}); a layer's own blob is the one carrying the inlined-bootstrap placeholder id
 * ("x" * 64), else its only blob, else its first. A placeholder id left in the result is an error.
 *
 * <p>Hard links: each source keeps its own inode sharing. A per-layer bootstrap cannot express a link to a file
 * of another layer, so the builder rejects a tar hard link whose target is not in its layer, unless the layer is
 * built on a parent bootstrap ({@link BuildOptions#parentBootstrap()}): then the link resolves to the parent's
 * file and both names share its inode. An upper layer replacing one name of a lower hard-link group leaves the
 * other names on the lower inode, which is what a copy-up in an overlay mount does.
 *
 * <p>Sources are not modified. Not thread-safe.
 */
public final class Merger {
    private static final Logger LOG = LoggerFactory.getLogger(Merger.class);
    /** Blob id written into inlined bootstraps before the blob's own digest is known. */
    public static final String PLACEHOLDER_BLOB_ID = "x".repeat(64);

    private Merger() {
    }

    /**
     * Per-source rewrites of a layer's own blob table entry; each list is empty (no rewrite) or has one element
     * per source. Null elements mean "keep".
     *
     * @param blobIds        new blob ids (layer digests without "sha256:")
     * @param compressedSizes new compressed sizes (whole blob file)
     * @param tocDigests     new ToC digests (32 bytes)
     * @param tocSizes       new ToC sizes
     * @param prefetchPaths  absolute paths for the merged image's prefetch list
     */
    public record Options(List<String> blobIds, List<Long> compressedSizes, List<byte[]> tocDigests,
                          List<Integer> tocSizes, List<String> prefetchPaths) {
        public Options {
            blobIds = copy(blobIds);
            compressedSizes = copy(compressedSizes);
            tocDigests = copy(tocDigests);
            tocSizes = copy(tocSizes);
            prefetchPaths = List.copyOf(Objects.requireNonNull(prefetchPaths, "prefetchPaths is null"));
        }

        public static Options none() {
            return new Options(List.of(), List.of(), List.of(), List.of(), List.of());
        }

        private static <T> List<T> copy(List<T> l) {
            return l == null ? List.of() : java.util.Collections.unmodifiableList(new ArrayList<>(l));
        }
    }

    /** Merges without blob rewrites or prefetch list. */
    public static RafsTree merge(List<RafsTree> lowestFirst) {
        return merge(lowestFirst, Options.none());
    }

    /**
     * Merges {@code lowestFirst} into a new tree.
     *
     * @throws IllegalArgumentException when the list is empty, layers disagree on chunk size or digester, an
     *                                  override list has the wrong length, or a placeholder blob id remains
     */
    public static RafsTree merge(List<RafsTree> lowestFirst, Options options) {
        if (lowestFirst.isEmpty()) {
            throw new IllegalArgumentException("merge needs at least one source bootstrap");
        }
        int n = lowestFirst.size();
        checkLength("blob digests", options.blobIds(), n);
        checkLength("blob sizes", options.compressedSizes(), n);
        checkLength("blob toc digests", options.tocDigests(), n);
        checkLength("blob toc sizes", options.tocSizes(), n);
        RafsTree top = lowestFirst.get(n - 1);
        List<BlobInfo> blobs = new ArrayList<>();
        Map<String, Integer> indexById = new HashMap<>();
        Node root = null;
        for (int layer = 0; layer < n; layer++) {
            RafsTree src = lowestFirst.get(layer);
            if (src.chunkSize != top.chunkSize) {
                throw new IllegalArgumentException(String.format("inconsistent filesystem: source %d has chunk"
                        + " size 0x%x but the top layer has 0x%x", layer, src.chunkSize, top.chunkSize));
            }
            if (src.digester != top.digester) {
                throw new IllegalArgumentException("inconsistent filesystem: source " + layer + " uses digester "
                        + src.digester.configName() + " but the top layer uses " + top.digester.configName());
            }
            int own = ownBlob(src);
            int[] remap = new int[src.blobs.size()];
            for (int b = 0; b < src.blobs.size(); b++) {
                BlobInfo info = src.blobs.get(b);
                if (b == own) {
                    info = override(info, options, layer);
                }
                if (info.blobId().equals(PLACEHOLDER_BLOB_ID)) {
                    throw new IllegalArgumentException("source " + layer + " blob " + b + " still has the"
                            + " inlined-bootstrap placeholder id; pass the layer's blob digest (--blob-digests) or"
                            + " name the bootstrap file after it (<sha256 hex>)");
                }
                Integer idx = indexById.get(info.blobId());
                if (idx == null) {
                    idx = blobs.size();
                    indexById.put(info.blobId(), idx);
                    blobs.add(info.withIdAndIndex(info.blobId(), idx));
                }
                remap[b] = idx;
            }
            Node upper = copy(src.root, remap, new IdentityHashMap<>(), layer);
            if (root == null) {
                root = new Node(new byte[0], upper.inode().copy());
                root.inode().chunks.clear();
            } else if (!LayerTree.isImplicit(upper.inode())) {
                copyAttributes(upper.inode(), root.inode());
            }
            apply(root, upper);
        }
        clearImplicitMarks(root, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
        if (blobs.size() > 254) {
            throw new IllegalArgumentException("merged image references " + blobs.size()
                    + " blobs; RAFS allows at most 254");
        }
        RafsTree out = new RafsTree(root);
        out.blobs.addAll(blobs);
        out.chunkSize = top.chunkSize;
        out.compressor = top.compressor;
        out.digester = top.digester;
        out.explicitUidGid = lowestFirst.stream().allMatch(t -> t.explicitUidGid);
        for (String p : options.prefetchPaths()) {
            if (p.startsWith("/")) {
                out.prefetchPaths.add(p);
            }
        }
        LOG.debug("merged {} layers into {} blobs", n, blobs.size());
        return out;
    }

    private static void checkLength(String what, List<?> l, int n) {
        if (!l.isEmpty() && l.size() != n) {
            throw new IllegalArgumentException(what + ": " + l.size() + " values given for " + n + " sources");
        }
    }

    /**
     * Index of the source's own blob (the one per-source overrides apply to), or -1 when it has none: the blob
     * with the inlined-bootstrap placeholder id, else the only blob of a single-blob layer bootstrap. A source with
     * several blobs and no placeholder (built on a parent or a chunk dict) cannot say which is its own.
     */
    private static int ownBlob(RafsTree src) {
        for (int i = 0; i < src.blobs.size(); i++) {
            if (src.blobs.get(i).blobId().equals(PLACEHOLDER_BLOB_ID)) {
                return i;
            }
        }
        return src.blobs.size() == 1 ? 0 : -1;
    }

    private static BlobInfo override(BlobInfo b, Options o, int layer) {
        String id = pick(o.blobIds(), layer, b.blobId());
        long size = pick(o.compressedSizes(), layer, b.compressedSize());
        byte[] tocDigest = pick(o.tocDigests(), layer, b.tocDigest());
        int tocSize = pick(o.tocSizes(), layer, b.tocSize());
        if (!id.matches("[0-9a-f]{64}") && !id.equals(PLACEHOLDER_BLOB_ID)) {
            throw new IllegalArgumentException("blob digest '" + id + "' for source " + layer
                    + " is not 64 lowercase hex characters");
        }
        if (tocDigest != null && tocDigest.length != 32) {
            throw new IllegalArgumentException("toc digest for source " + layer + " has " + tocDigest.length
                    + " bytes, expected 32");
        }
        return new BlobInfo(id, b.blobIndex(), b.chunkSize(), b.chunkCount(), b.compressionAlgo(), b.digestAlgo(),
                b.features(), size, b.uncompressedSize(), tocSize, b.ciCompressor(), b.ciOffset(),
                b.ciCompressedSize(), b.ciUncompressedSize(), tocDigest, b.metaDigest(), b.metaSize());
    }

    private static <T> T pick(List<T> l, int i, T dflt) {
        return l.isEmpty() || l.get(i) == null ? dflt : l.get(i);
    }

    /** Deep copy of a source subtree with chunk blob indexes remapped; hard links stay shared. */
    private static Node copy(Node n, int[] remap, IdentityHashMap<Inode, Inode> seen, int layer) {
        Inode c = seen.get(n.inode());
        if (c == null) {
            c = n.inode().copy();
            c.ino = 0;
            c.chunks.clear();
            for (ChunkRef r : n.inode().chunks) {
                if (r.blobIndex() < 0 || r.blobIndex() >= remap.length) {
                    throw new IllegalArgumentException("source " + layer + ": chunk of '" + n.nameString()
                            + "' references blob " + r.blobIndex() + " of " + remap.length);
                }
                c.chunks.add(r.withBlobIndex(remap[r.blobIndex()]));
            }
            seen.put(n.inode(), c);
        }
        Node out = new Node(n.name(), c);
        for (Node k : n.children()) {
            out.putChild(copy(k, remap, seen, layer));
        }
        return out;
    }

    /**
     * Applies the layer directory {@code upper} onto {@code lower} (both directories): opaque marker first, then
     * whiteouts, then entries. Nodes of {@code upper} are moved into {@code lower}, not copied.
     */
    static void apply(Node lower, Node upper) {
        apply(lower, upper, true);
    }

    /** As {@link #apply(Node, Node)}; with {@code whiteouts == false} markers are ordinary entries (spec none). */
    static void apply(Node lower, Node upper, boolean whiteouts) {
        boolean opaque = false;
        List<byte[]> deleted = new ArrayList<>();
        List<Node> entries = new ArrayList<>();
        for (Node k : upper.children()) {
            if (!whiteouts) {
                entries.add(k);
            } else if (Whiteouts.isOpaqueMarker(k.name())) {
                opaque = true;
            } else if (Whiteouts.isWhiteout(k.name())) {
                deleted.add(Whiteouts.whiteoutTarget(k.name()));
            } else {
                entries.add(k);
            }
        }
        if (opaque) {
            lower.clearChildren();
        }
        for (byte[] w : deleted) {
            lower.removeChild(w);
        }
        for (Node k : entries) {
            Node existing = lower.child(k.name());
            if (k.inode().isDirectory()) {
                Node target;
                if (existing != null && existing.inode().isDirectory()) {
                    if (!LayerTree.isImplicit(k.inode())) {
                        copyAttributes(k.inode(), existing.inode());
                    }
                    target = existing;
                } else {
                    target = new Node(k.name(), k.inode());
                    lower.putChild(target);
                }
                apply(target, k, whiteouts);
            } else {
                lower.putChild(k);
            }
        }
    }

    /** Directories implied by a layer and present in no lower layer keep the plain defaults (mtime 0). */
    static void clearImplicitMarks(Node dir, java.util.Set<Inode> seen) {
        if (!seen.add(dir.inode())) {
            return;
        }
        if (LayerTree.isImplicit(dir.inode())) {
            dir.inode().mtimeNsec = 0;
        }
        for (Node c : dir.children()) {
            if (c.inode().isDirectory()) {
                clearImplicitMarks(c, seen);
            }
        }
    }

    static void copyAttributes(Inode from, Inode to) {
        to.mode = from.mode;
        to.uid = from.uid;
        to.gid = from.gid;
        to.mtimeSec = from.mtimeSec;
        to.mtimeNsec = from.mtimeNsec;
        to.xattrs.clear();
        to.xattrs.putAll(from.xattrs);
    }
}
