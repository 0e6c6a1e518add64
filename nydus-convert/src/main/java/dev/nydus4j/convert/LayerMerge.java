package dev.nydus4j.convert;

import dev.nydus4j.rafs.builder.Merger;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6Writer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Merges converted layers (lowest first) into the image bootstrap, with blob ids = nydus blob digests. A layer
 * that hard-links to a file of a lower layer cannot be built on its own (a per-layer bootstrap cannot name
 * another layer's inode); such a layer arrives here as null and is rebuilt on top of the already merged lower
 * layers (the builder's parent bootstrap), after which it stands for all of them.
 */
final class LayerMerge {
    /** Rebuilds layer {@code index} on {@code parentBootstrap}. */
    interface Rebuild {
        LayerConverter.Result build(int index, Path parentBootstrap) throws IOException;
    }

    private record Item(RafsTree tree, String id, Long size) {
        static Item of(LayerConverter.Result r) {
            return new Item(r.tree(), r.blobDigest() == null ? null : r.blobDigest().substring(7),
                    r.blobDigest() == null ? null : r.blobSize());
        }
    }

    private LayerMerge() {
    }

    /**
     * @param results per layer, null for layers to rebuild on their parents; rebuilt results are stored back
     * @param what    names the image in errors
     */
    static RafsTree merge(List<LayerConverter.Result> results, List<String> prefetch, Rebuild rebuild, Path tmp,
                          String what) throws IOException {
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            LayerConverter.Result r = results.get(i);
            if (r == null) {
                RafsTree parent = mergeItems(items, List.of(), what);
                Path parentFile = tmp.resolve("parent-" + i + ".boot");
                Files.write(parentFile, RafsV6Writer.toBytes(parent));
                r = rebuild.build(i, parentFile);
                results.set(i, r);
                // the rebuilt tree is parent + layer (whiteouts and implied directories already resolved by the
                // builder): let it stand for everything below it
                items.clear();
            }
            items.add(Item.of(r));
        }
        return mergeItems(items, prefetch, what);
    }

    private static RafsTree mergeItems(List<Item> items, List<String> prefetch, String what) throws IOException {
        List<RafsTree> trees = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        for (Item it : items) {
            trees.add(it.tree());
            ids.add(it.id());
            sizes.add(it.size());
        }
        try {
            return Merger.merge(trees, new Merger.Options(ids, sizes, null, null, prefetch));
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IOException("cannot merge the layers of " + what + ": " + e.getMessage(), e);
        }
    }
}
