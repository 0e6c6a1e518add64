package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Chunk deduplication by digest of the plain bytes. Knows the chunks of this image (new ones and those of a
 * parent image, whose blobs occupy the first blob-table slots) and, separately, those of a chunk dictionary:
 * a dictionary blob joins the image's blob table only when one of its chunks is first referenced. Dictionary
 * blobs are placed after the slot reserved for this build's own blob. Not thread-safe.
 */
final class ChunkIndex {
    private final Map<ByteBuffer, ChunkRef> known = new HashMap<>();
    private final Map<ByteBuffer, DictChunk> dictionary = new HashMap<>();
    private final List<BlobInfo> baseBlobs;
    private final int newBlobIndex;
    private final List<BlobInfo> addedDictBlobs = new ArrayList<>();
    private final Map<String, Integer> dictSlotById = new HashMap<>();

    private record DictChunk(BlobInfo blob, ChunkRef ref) {
    }

    /**
     * @param baseBlobs blob table of the parent image (empty without one); this build's blob goes right after
     */
    ChunkIndex(List<BlobInfo> baseBlobs) {
        this.baseBlobs = List.copyOf(baseBlobs);
        this.newBlobIndex = baseBlobs.size();
        for (int i = 0; i < this.baseBlobs.size(); i++) {
            dictSlotById.putIfAbsent(this.baseBlobs.get(i).blobId(), i);
        }
    }

    /** Slot of the blob written by this build. */
    int newBlobIndex() {
        return newBlobIndex;
    }

    /** Adds every chunk of an image whose blob indexes are already valid in this image (the parent). */
    void addKnownTree(RafsTree tree) {
        forEachChunk(tree, ref -> known.putIfAbsent(key(ref.digest()), ref));
    }

    /** Adds every chunk of a dictionary image; its blobs are mapped into this image on first use. */
    void addDictionary(RafsTree dict) {
        forEachChunk(dict, ref -> {
            if (ref.blobIndex() < 0 || ref.blobIndex() >= dict.blobs.size()) {
                return; // a broken dictionary entry is simply not usable for dedup
            }
            dictionary.putIfAbsent(key(ref.digest()), new DictChunk(dict.blobs.get(ref.blobIndex()), ref));
        });
    }

    /** Records a chunk just stored in this build's blob. */
    void addNew(ChunkRef ref) {
        known.put(key(ref.digest()), ref);
    }

    /** An existing chunk with this digest (blob index valid in this image), or null. */
    ChunkRef lookup(byte[] digest) {
        ByteBuffer k = key(digest);
        ChunkRef r = known.get(k);
        if (r != null) {
            return r;
        }
        DictChunk d = dictionary.get(k);
        if (d == null) {
            return null;
        }
        Integer slot = dictSlotById.get(d.blob.blobId());
        if (slot == null) {
            slot = newBlobIndex + 1 + addedDictBlobs.size();
            addedDictBlobs.add(d.blob.withIdAndIndex(d.blob.blobId(), slot));
            dictSlotById.put(d.blob.blobId(), slot);
        }
        ChunkRef mapped = d.ref.withBlobIndex(slot);
        known.put(k, mapped);
        return mapped;
    }

    /** Dictionary blobs that chunks of this build reference, in slot order (after the new blob's slot). */
    List<BlobInfo> referencedDictionaryBlobs() {
        return Collections.unmodifiableList(addedDictBlobs);
    }

    List<BlobInfo> baseBlobs() {
        return baseBlobs;
    }

    static ByteBuffer key(byte[] digest) {
        return ByteBuffer.wrap(digest);
    }

    /** Visits each distinct inode's chunks once (hard links share inodes). */
    static void forEachChunk(RafsTree tree, java.util.function.Consumer<ChunkRef> action) {
        Set<Inode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Node> todo = new ArrayDeque<>();
        todo.push(tree.root);
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            if (!seen.add(n.inode())) {
                continue;
            }
            n.inode().chunks.forEach(action);
            todo.addAll(n.children());
        }
    }
}
