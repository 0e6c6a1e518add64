package dev.nydus4j.convert;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.HashPool;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.Merger;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;

/**
 * Turns one source layer into one nydus blob with inlined metadata and ToC (upstream: {@code nydus-image create
 * --type tar-rafs --blob-inline-meta --features blob-toc}). The layer is streamed from the store through digest
 * verification into the builder: nothing is unpacked to disk and memory stays bounded by the builder's pipeline.
 */
final class LayerConverter {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LayerConverter.class);

    /**
     * One converted layer; {@code tree} is the layer's own bootstrap (own blob id still the placeholder).
     * {@code blobDigest} and {@code blobFile} are null when the layer needed no blob (all its chunks exist already).
     * {@code streamed} completes once the upload that streamed the blob while it was built has finished (true) or
     * failed (false: the caller pushes the file), and the blob is at {@code blobFile}; the layer's tree is usable
     * before that, so the registry's completion of the upload (its fsync and digest check, ~0.1-0.2 s for a large
     * blob) overlaps the merge and the other layers instead of holding the layer's worker.
     */
    record Result(int index, String sourceDigest, long sourceBytes, String blobDigest, Path blobFile, long blobSize,
                  RafsTree tree, long millis, CompletableFuture<Boolean> streamed) {

        /** Waits for {@link #streamed}: whether the blob is in the target already. */
        boolean pushed() throws IOException {
            return Await.result(streamed, "the upload of blob " + blobDigest);
        }
    }

    private static final CompletableFuture<Boolean> NOT_STREAMED = CompletableFuture.completedFuture(false);

    private final BuildOptions options;
    private final int hashThreads;
    private final HashPool hashPool;
    private int fsVersion = 6;

    /** @param hashThreads digesting threads of the build's own (0: all on the converting thread) */
    LayerConverter(BuildOptions options, int hashThreads) {
        this.options = options;
        this.hashThreads = hashThreads;
        this.hashPool = null;
    }

    /** Digests and compresses on {@code hashPool}, shared by the layers converted at the same time. */
    LayerConverter(BuildOptions options, HashPool hashPool) {
        this.options = options;
        this.hashThreads = 0;
        this.hashPool = java.util.Objects.requireNonNull(hashPool, "hashPool is null");
    }

    /** Builds RAFS {@code version} (5 or 6) layer bootstraps (inlined in the blobs); 6 unless set. */
    LayerConverter fsVersion(int version) {
        this.fsVersion = version;
        return this;
    }

    /**
     * @param what  names the layer in errors, e.g. {@code layer 2/5 sha256:... of 127.0.0.1:5000/app}
     * @param outDir directory for the blob (named by its sha256 hex when done)
     */
    Result convert(ImageStore store, int index, String what, String digest, long size, Path outDir)
            throws IOException {
        return convert(store, index, what, digest, size, outDir, null);
    }

    /** @param streamTo a store to upload the blob to while it is built ({@link StreamingPush}), or null */
    Result convert(ImageStore store, int index, String what, String digest, long size, Path outDir,
                   ImageStore streamTo) throws IOException {
        long start = System.nanoTime();
        Path tmp = outDir.resolve("layer-" + index + ".blob.tmp");
        StreamingPush push = null;
        if (streamTo != null) {
            try {
                StreamingPush.Upload upload = streamTo.startStreamingUpload();
                push = upload == null ? null : new StreamingPush(tmp, upload);
            } catch (IOException e) {
                LOG.warn("{}: cannot start a streaming upload to {} ({}); the blob is pushed once built", what,
                        streamTo.describe(), e.getMessage());
            }
        }
        Result r = null;
        try {
            r = build(store, index, what, digest, size, outDir, tmp, options, start, push);
            return r;
        } finally {
            // a blob that is streaming is finished (and its push closed) by finishStream
            if (push != null && (r == null || r.streamed() == NOT_STREAMED)) {
                push.close();
            }
        }
    }

    /**
     * Completes the streamed upload of a built blob, then moves the file to its final name (the stream reads the
     * temporary file until it has sent everything), on a thread of its own.
     */
    private static CompletableFuture<Boolean> finishStream(StreamingPush push, String what, String blobDigest,
                                                           long size, Path tmp, Path finalPath, int index) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                boolean pushed = false;
                try {
                    push.complete(blobDigest, size);
                    pushed = true;
                } catch (IOException e) {
                    LOG.warn("{}: streaming blob {} failed ({}); pushing it from the file", what, blobDigest,
                            e.getMessage());
                } finally {
                    push.close();
                }
                Files.move(tmp, finalPath, StandardCopyOption.REPLACE_EXISTING);
                done.complete(pushed);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        }, "nydusify-finish-" + index);
        t.setDaemon(true);
        t.start();
        return done;
    }

    private Result build(ImageStore store, int index, String what, String digest, long size, Path outDir, Path tmp,
                         BuildOptions build, long start, StreamingPush push) throws IOException {
        Path bootOut = build.blobInlineMeta() ? null : outDir.resolve("layer-" + index + ".boot");
        BuildResult built;
        long read;
        // directories a layer only implies keep the lower layers' attributes: the builder marks them and the
        // merge honours the mark (umoci leaves unchanged parents out of its layers)
        try (InputStream raw = store.openBlob(digest);
             // no buffer between the blob stream and the digest: the builder's decompressor reads 64 KiB at a time
             // (and buffers itself), an extra buffer would only add a layer for every read to go through
             VerifyingInputStream verified = new VerifyingInputStream(raw, what,
                     digest, size)) {
            try {
                ImageBuilder builder = new ImageBuilder(build, fsVersion);
                if (hashPool != null) {
                    builder.hashPool(hashPool);
                } else {
                    builder.hashThreads(hashThreads);
                }
                built = builder.build(verified, bootOut, tmp, null);
            } catch (IOException | RuntimeException e) {
                throw new IOException(what + ": cannot convert: " + e.getMessage(), e);
            }
            verified.drainAndVerify();
            read = verified.bytesRead();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (!build.blobInlineMeta()) {
            RafsTree tree = Bootstraps.read(bootOut);
            if (built.newBlobId() != null) {
                throw new IOException(what + ": a layer without inlined metadata unexpectedly produced blob "
                        + built.newBlobId());
            }
            return new Result(index, digest, read, null, null, 0, tree, millis, NOT_STREAMED);
        }
        if (built.blob() == null || !Files.isRegularFile(tmp)) {
            throw new IOException(what + ": the builder produced no blob");
        }
        // the builder hashed every byte it wrote: its blob id is the sha256 of the whole blob, so the file is not
        // read a second time to hash it (the registry verifies the digest again when the upload completes)
        String hex = built.newBlobId();
        if (hex == null || !hex.matches("[0-9a-f]{64}")) {
            throw new IOException(what + ": the builder gave blob id '" + hex + "', not a sha256 hex digest");
        }
        byte[] inlined;
        try (BlobFile blob = BlobFile.open(tmp)) {
            inlined = blob.inlinedBootstrap().orElseThrow(() -> new IOException(what
                    + ": converted blob has no inlined bootstrap"));
        }
        RafsTree tree = Bootstraps.read(inlined, what + "#image.boot");
        if (tree.blobs.stream().noneMatch(b -> b.blobId().equals(Merger.PLACEHOLDER_BLOB_ID))) {
            // no new data (only deletions, or every chunk already stored): the merged bootstrap references no blob
            // of this layer, so none is pushed
            Files.delete(tmp);
            return new Result(index, digest, read, null, null, 0, tree, millis, NOT_STREAMED);
        }
        long blobSize = Files.size(tmp);
        Path finalPath = outDir.resolve(hex);
        CompletableFuture<Boolean> streamed;
        if (push == null) {
            Files.move(tmp, finalPath, StandardCopyOption.REPLACE_EXISTING);
            streamed = NOT_STREAMED;
        } else {
            streamed = finishStream(push, what, "sha256:" + hex, blobSize, tmp, finalPath, index);
        }
        return new Result(index, digest, read, "sha256:" + hex, finalPath, blobSize, tree,
                (System.nanoTime() - start) / 1_000_000, streamed);
    }
}
