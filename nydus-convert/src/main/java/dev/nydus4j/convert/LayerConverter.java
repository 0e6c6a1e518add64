package dev.nydus4j.convert;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobFile;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Turns one source layer into one nydus blob with inlined metadata and ToC (upstream: {@code nydus-image create
 * --type tar-rafs --blob-inline-meta --features blob-toc}). The layer is streamed from the store through digest
 * verification into the builder: nothing is unpacked to disk and memory stays bounded by the builder's pipeline.
 */
final class LayerConverter {
    /** One converted layer; {@code tree} is the layer's own bootstrap (blob id still the placeholder). */
    record Result(int index, String sourceDigest, long sourceBytes, String blobDigest, Path blobFile, long blobSize,
                  RafsTree tree, java.util.Set<String> listedDirectories, long millis) {
    }

    private final BuildOptions options;
    private final int hashThreads;

    LayerConverter(BuildOptions options, int hashThreads) {
        this.options = options;
        this.hashThreads = hashThreads;
    }

    /**
     * @param what  names the layer in errors, e.g. {@code layer 2/5 sha256:... of 127.0.0.1:5000/app}
     * @param outDir directory for the blob (named by its sha256 hex when done)
     */
    Result convert(ImageStore store, int index, String what, String digest, long size, Path outDir)
            throws IOException {
        long start = System.nanoTime();
        Path tmp = outDir.resolve("layer-" + index + ".blob.tmp");
        BuildResult built;
        long read;
        java.util.Set<String> listed;
        try (InputStream raw = store.openBlob(digest);
             VerifyingInputStream verified = new VerifyingInputStream(new BufferedInputStream(raw, 1 << 16), what,
                     digest, size);
             ExplicitDirectories.Tap tap = new ExplicitDirectories.Tap(verified, what)) {
            try {
                built = new ImageBuilder(options).hashThreads(hashThreads).build(tap, null, tmp, null);
            } catch (IOException | RuntimeException e) {
                throw new IOException(what + ": cannot convert: " + e.getMessage(), e);
            }
            listed = tap.finish(what);
            verified.drainAndVerify();
            read = verified.bytesRead();
        }
        if (built.blob() == null || !Files.isRegularFile(tmp)) {
            throw new IOException(what + ": the builder produced no blob");
        }
        String hex;
        byte[] inlined;
        try (BlobFile blob = BlobFile.open(tmp)) {
            hex = blob.sha256Hex();
            inlined = blob.inlinedBootstrap().orElseThrow(() -> new IOException(what
                    + ": converted blob has no inlined bootstrap"));
        }
        Path finalPath = outDir.resolve(hex);
        Files.move(tmp, finalPath, StandardCopyOption.REPLACE_EXISTING);
        RafsTree tree = Bootstraps.read(inlined, what + "#image.boot");
        return new Result(index, digest, read, "sha256:" + hex, finalPath, Files.size(finalPath), tree,
                listed, (System.nanoTime() - start) / 1_000_000);
    }
}
