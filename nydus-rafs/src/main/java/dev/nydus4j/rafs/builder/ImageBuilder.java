package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Builds a RAFS image from a directory or an OCI layer tar stream (upstream {@code nydus-image create}): reads the
 * source in one pass, cuts regular files into chunks, deduplicates them within the image and against an optional
 * parent image and chunk dictionary, writes new chunks to one data blob and produces the tree (and, if asked, the
 * v6 bootstrap).
 *
 * <p>Blob rules: no new chunk and no inlined metadata means no blob at all. With {@code blobInlineMeta} the
 * per-layer bootstrap (blob table entry carrying the placeholder id {@link Merger#PLACEHOLDER_BLOB_ID}) is appended
 * to the blob. The blob's final id is the sha256 of the blob file. With a parent bootstrap the layer is overlaid
 * on the parent (whiteouts applied, as {@link Merger} does); without one OCI whiteout markers are kept as empty
 * files for a later merge.
 *
 * <p>One instance may run several builds one after another; not thread-safe.
 */
public final class ImageBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(ImageBuilder.class);

    private final BuildOptions options;
    private final BlobSink.Factory sinks;
    private final BootstrapCodec codec;
    private int hashThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private HashPool sharedHashPool;

    public ImageBuilder(BuildOptions options) {
        this(options, BlobWriterSink::open, RafsBootstrapCodec.INSTANCE);
    }

    /**
     * Writing a RAFS {@code fsVersion} (5 or 6) bootstrap. The blob is the same for both versions; see
     * {@link dev.nydus4j.rafs.v5.RafsV5Writer} for why its v6 sections stay in a v5 image's blob.
     */
    public ImageBuilder(BuildOptions options, int fsVersion) {
        this(options, BlobWriterSink::open, RafsBootstrapCodec.forVersion(fsVersion));
    }

    /** With another blob format or bootstrap codec (tests). */
    public ImageBuilder(BuildOptions options, BlobSink.Factory sinks, BootstrapCodec codec) {
        this.options = Objects.requireNonNull(options, "options is null");
        this.sinks = Objects.requireNonNull(sinks, "sinks is null");
        this.codec = Objects.requireNonNull(codec, "codec is null");
    }

    /**
     * Loads the native code a build uses (ISA-L's gzip decoder with its self-test when libisal2 is installed, the
     * zstd library) ahead of the first layer. The command line tools call it on a background thread at start, so
     * that library extraction and JNA's set-up (which runs {@code ldconfig -p}) overlap the parsing of the command
     * line and the registry requests instead of delaying the first layer by ~0.1 s. Problems are left to the build
     * that meets them.
     */
    public static void preloadNativeCodecs() {
        try {
            GzipMembersInputStream.preloadDecoder();
            byte[] sample = new byte[256];
            dev.nydus4j.storage.CompressionAlgorithm.ZSTD.compress(sample, 0, sample.length,
                    new byte[dev.nydus4j.storage.CompressionAlgorithm.ZSTD.maxCompressedLength(sample.length)], 0);
        } catch (RuntimeException | LinkageError ignored) {
            // the build reports it with context
        }
    }

    /**
     * Number of threads digesting chunks while the source is read (default: one per core); 0 digests and stores
     * on the calling thread. The output is the same either way.
     */
    public ImageBuilder hashThreads(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("hash threads must be >= 0, got " + n);
        }
        this.hashThreads = n;
        this.sharedHashPool = null;
        return this;
    }

    /**
     * Digests and compresses chunks on {@code pool}, shared with other builds running at the same time, instead
     * of threads of this build's own (see {@link HashPool}); the pool is not closed here. The output is the same.
     */
    public ImageBuilder hashPool(HashPool pool) {
        this.sharedHashPool = Objects.requireNonNull(pool, "pool is null");
        return this;
    }

    public BuildOptions options() {
        return options;
    }

    /**
     * Builds from a directory, a tar / tar.gz / tar.zst file, a FIFO or a character device.
     *
     * @param bootstrapOutOrNull where to write the v6 bootstrap, or null
     * @param blobOutOrNull      where to write the data blob (file or FIFO), or null
     * @param blobDirOrNull      existing directory to write the blob into, named by its id, or null
     */
    public BuildResult build(Path source, Path bootstrapOutOrNull, Path blobOutOrNull, Path blobDirOrNull)
            throws IOException {
        Objects.requireNonNull(source, "source is null");
        boolean isDir = Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS);
        SourceType t = options.sourceType();
        if (t == SourceType.DIR && !isDir) {
            throw new IOException("source " + source + " is not a directory (source type dir-rafs)");
        }
        if ((t == SourceType.TAR || t == SourceType.TARGZ) && isDir) {
            throw new IOException("source " + source + " is a directory but the source type is " + t
                    + "; use dir-rafs");
        }
        if (!Files.exists(source)) {
            throw new IOException("source " + source + " does not exist");
        }
        if (isDir) {
            return run((chunker, lower) -> DirectorySource.read(source, chunker), bootstrapOutOrNull, blobOutOrNull,
                    blobDirOrNull);
        }
        try (InputStream in = Files.newInputStream(source)) {
            return run((chunker, lower) -> TarSource.read(in, source.toString(), chunker, lower), bootstrapOutOrNull,
                    blobOutOrNull, blobDirOrNull);
        }
    }

    /** Builds from a tar stream (stdin, FIFO); the stream is read to its end but not closed. */
    public BuildResult build(InputStream tar, Path bootstrapOutOrNull, Path blobOutOrNull, Path blobDirOrNull)
            throws IOException {
        Objects.requireNonNull(tar, "tar is null");
        if (options.sourceType() == SourceType.DIR) {
            throw new IllegalArgumentException("a stream source cannot be of type dir-rafs");
        }
        return run((chunker, lower) -> TarSource.read(tar, "<stream>", chunker, lower), bootstrapOutOrNull,
                blobOutOrNull, blobDirOrNull);
    }

    private interface SourceReader {
        /** {@code lowerRoot}: the parent image's root (for tar hard links into it), or null. */
        Node read(FileChunker chunker, Node lowerRoot) throws IOException;
    }

    private BuildResult run(SourceReader reader, Path bootstrapOut, Path blobOut, Path blobDir) throws IOException {
        RafsTree parent = options.parentBootstrap() == null ? null : codec.read(options.parentBootstrap());
        if (parent != null) {
            requireCompatible(parent, "parent bootstrap " + options.parentBootstrap());
        }
        ChunkIndex index = new ChunkIndex(parent == null ? List.of() : parent.blobs);
        if (parent != null) {
            index.addKnownTree(parent);
        }
        if (options.chunkDictBootstrap() != null) {
            RafsTree dict = codec.read(options.chunkDictBootstrap());
            if (dict.digester != options.digester()) {
                LOG.warn("chunk dict {} uses digester {} but this build uses {}; not deduplicating against it",
                        options.chunkDictBootstrap(), dict.digester.configName(), options.digester().configName());
            } else {
                index.addDictionary(dict);
            }
        }
        try (BlobOutput output = new BlobOutput(blobOut, blobDir)) {
            BlobSink[] sink = new BlobSink[1];
            FileChunker.SinkSupplier supplier = () -> {
                if (sink[0] == null) {
                    sink[0] = sinks.open(output.open(), options.compressor(), options.digester(),
                            options.chunkSize());
                }
                return sink[0];
            };
            Node layerRoot;
            long newChunks;
            long reusedChunks;
            try (FileChunker chunker = new FileChunker(options.chunkSize(), options.digester(), options.compressor(),
                    index, supplier, hashThreads, sharedHashPool)) {
                layerRoot = reader.read(chunker, parent == null ? null : parent.root);
                chunker.drain();
                newChunks = chunker.newChunks();
                reusedChunks = chunker.reusedChunks();
            }
            if (options.whiteoutSpec() == WhiteoutSpec.OVERLAYFS) {
                Whiteouts.overlayfsToOci(layerRoot);
            }
            RafsTree tree;
            if (parent != null) {
                // exactly what Merger does for [parent, layer]: markers of either never reach the result
                Node merged = new Node(new byte[0], parent.root.inode());
                Merger.apply(merged, parent.root);
                Merger.apply(merged, layerRoot, options.whiteoutSpec() != WhiteoutSpec.NONE);
                if (!LayerTree.isImplicit(layerRoot.inode())) {
                    Merger.copyAttributes(layerRoot.inode(), merged.inode());
                }
                Merger.clearImplicitMarks(merged, Collections.newSetFromMap(new IdentityHashMap<>()));
                tree = new RafsTree(merged);
            } else {
                tree = new RafsTree(layerRoot);
            }
            tree.chunkSize = options.chunkSize();
            tree.compressor = options.compressor();
            tree.digester = options.digester();
            tree.explicitUidGid = true;
            for (String p : options.prefetchPaths()) {
                if (p.startsWith("/")) {
                    tree.prefetchPaths.add(p);
                }
            }
            tree.blobs.addAll(index.baseBlobs());
            int newIndex = index.newBlobIndex();
            String newBlobId = null;
            Path blobPath = null;
            if (sink[0] != null || options.blobInlineMeta()) {
                BlobSink s = supplier.get();
                BlobInfo sealed = s.sealChunks(options.blobInlineMeta());
                boolean metaOnly = sealed.chunkCount() == 0;
                if (metaOnly) {
                    // a layer without data (only deletions, or every chunk deduplicated) still ships its
                    // bootstrap inside a blob, but the bootstrap cannot list a blob with no data in its blob table
                    shiftBlobIndexes(tree, newIndex, -1);
                    for (BlobInfo b : index.referencedDictionaryBlobs()) {
                        tree.blobs.add(b.withIdAndIndex(b.blobId(), tree.blobs.size()));
                    }
                } else {
                    tree.blobs.add(sealed.withIdAndIndex(Merger.PLACEHOLDER_BLOB_ID, newIndex));
                    tree.blobs.addAll(index.referencedDictionaryBlobs());
                }
                byte[] inline = options.blobInlineMeta() ? codec.toBytes(tree) : null;
                BlobInfo fin = s.finish(inline);
                newBlobId = fin.blobId();
                if (!metaOnly) {
                    tree.blobs.set(newIndex, fin.withIdAndIndex(fin.blobId(), newIndex));
                }
                blobPath = output.commit(newBlobId);
                LOG.info("blob {}: {} new chunks, {} reused, {} bytes{}", newBlobId, newChunks, reusedChunks,
                        fin.compressedSize(), metaOnly ? " (metadata only)" : "");
            } else {
                // no blob: dictionary blobs slide into the slot reserved for it
                shiftBlobIndexes(tree, newIndex, -1);
                List<BlobInfo> dict = index.referencedDictionaryBlobs();
                for (BlobInfo b : dict) {
                    tree.blobs.add(b.withIdAndIndex(b.blobId(), tree.blobs.size()));
                }
                output.finishEmpty();
            }
            if (tree.blobs.size() > 254) {
                throw new IOException("image references " + tree.blobs.size() + " blobs; RAFS allows at most 254");
            }
            if (bootstrapOut != null) {
                writeAtomically(bootstrapOut, codec.toBytes(tree));
            }
            List<String> ids = new ArrayList<>();
            tree.blobs.forEach(b -> ids.add(b.blobId()));
            return new BuildResult(tree, ids, newBlobId, bootstrapOut, blobPath);
        }
    }

    private void requireCompatible(RafsTree other, String what) {
        if (other.chunkSize != options.chunkSize()) {
            throw new IllegalArgumentException(String.format("%s has chunk size 0x%x but this build uses 0x%x",
                    what, other.chunkSize, options.chunkSize()));
        }
        if (other.digester != options.digester()) {
            throw new IllegalArgumentException(what + " uses digester " + other.digester.configName()
                    + " but this build uses " + options.digester().configName());
        }
    }

    /** Adds {@code delta} to every chunk blob index greater than {@code above}. */
    static void shiftBlobIndexes(RafsTree tree, int above, int delta) {
        Set<Inode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Node> todo = new ArrayList<>();
        todo.add(tree.root);
        while (!todo.isEmpty()) {
            Node n = todo.remove(todo.size() - 1);
            Inode i = n.inode();
            if (seen.add(i)) {
                for (int c = 0; c < i.chunks.size(); c++) {
                    ChunkRef r = i.chunks.get(c);
                    if (r.blobIndex() > above) {
                        i.chunks.set(c, r.withBlobIndex(r.blobIndex() + delta));
                    }
                }
            }
            todo.addAll(n.children());
        }
    }

    private static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".bootstrap-", ".tmp");
        try {
            try (OutputStream out = BlobOutput.openForWrite(tmp)) { // no truncation: see there
                out.write(bytes);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
