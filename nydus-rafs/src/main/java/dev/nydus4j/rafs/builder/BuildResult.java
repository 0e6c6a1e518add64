package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.RafsTree;

import java.nio.file.Path;
import java.util.List;

/**
 * Outcome of {@link ImageBuilder#build}.
 *
 * @param tree      the built image (blob table holds final blob ids)
 * @param blobIds   ids of the image's blob table, in order
 * @param newBlobId id of the data blob written by this build, or null when none was needed
 * @param bootstrap where the bootstrap was written, or null
 * @param blob      where the data blob was written (given path or blob-dir/&lt;id&gt;), or null
 */
public record BuildResult(RafsTree tree, List<String> blobIds, String newBlobId, Path bootstrap, Path blob) {
    public BuildResult {
        blobIds = List.copyOf(blobIds);
    }
}
