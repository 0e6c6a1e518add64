package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code nydus-image check}: parses a bootstrap strictly and, with {@code -D}, reads and verifies every chunk it
 * references (API spec 4.3).
 */
@Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Validate a RAFS bootstrap and, with --blob-dir, the data of every chunk it references.")
final class CheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Target target;

    static final class Target {
        @Parameters(index = "0", paramLabel = "BOOTSTRAP", description = "Bootstrap file to check.")
        Path positional;

        @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "Bootstrap file (deprecated form).")
        Path option;

        Path path() {
            return positional != null ? positional : option;
        }
    }

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR", description = "Directory with the data blobs (verify chunk data).")
    Path blobDir;

    @Option(names = {"-b", "--blob"}, paramLabel = "FILE", description = "The data blob (single-blob images).")
    Path blob;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "Backend config (not supported; use -D).")
    Path config;

    @Option(names = {"-v", "--verbose"}, description = "List every inode.")
    boolean verbose;

    @Option(names = {"-J", "--output-json"}, paramLabel = "FILE", description = "Write the result JSON here.")
    Path outputJson;

    @Override
    public Integer call() throws IOException {
        if (config != null) {
            throw new IllegalArgumentException("--config is not supported yet; give the local blob directory with --blob-dir");
        }
        Path bootstrap = target.path();
        RafsTree tree = BootstrapSource.load(bootstrap);
        Map<String, Node> paths = TreePaths.of(tree);
        PrintWriter out = spec.commandLine().getOut();
        if (verbose) {
            for (Map.Entry<String, Node> e : paths.entrySet()) {
                Inode in = e.getValue().inode();
                out.printf("inode %d %s mode 0%o uid %d gid %d size %d chunks %d%n", in.ino, e.getKey(), in.mode, in.uid,
                        in.gid, in.size, in.chunks.size());
            }
        }
        long verified = 0;
        try (ChunkReader reader = BootstrapSource.chunkReader(blobDir, blob)) {
            if (reader != null) {
                verified = verifyChunks(tree, paths, reader);
            }
        }
        out.println("RAFS filesystem metadata is valid, referenced data blobs: ");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < tree.blobs.size(); i++) {
            BlobInfo b = tree.blobs.get(i);
            ids.add(b.blobId());
            out.printf("\t %d: %s, compressed size 0x%x, uncompressed size 0x%x, chunk size 0x%x, chunks: 0x%x, features: %s%n",
                    i, b.blobId(), b.compressedSize(), b.uncompressedSize(), b.chunkSize(), b.chunkCount(),
                    BlobFeatures.describe(b.features()));
        }
        if (blobDir != null || blob != null) {
            out.printf("verified %d chunks of data%n", verified);
        }
        out.flush();
        if (outputJson != null) {
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("inodes", paths.size());
            trace.put("verified_chunks", verified);
            ResultJson.of(bootstrap, ids, trace, BootstrapSource.looksLikeBootstrap(bootstrap) ? Bootstraps.version(bootstrap) : 6, tree.compressor.configName()).write(outputJson);
        }
        return 0;
    }

    /** Reads every distinct chunk once; the reader checks decompression, CRC and digest. */
    private static long verifyChunks(RafsTree tree, Map<String, Node> paths, ChunkReader reader) throws IOException {
        Map<Inode, Boolean> seen = new IdentityHashMap<>();
        Set<String> done = new HashSet<>();
        long n = 0;
        byte[] buf = new byte[tree.chunkSize];
        for (Map.Entry<String, Node> e : paths.entrySet()) {
            Inode in = e.getValue().inode();
            if (!in.isRegular() || seen.put(in, Boolean.TRUE) != null) {
                continue;
            }
            for (ChunkRef c : in.chunks) {
                if (c.blobIndex() < 0 || c.blobIndex() >= tree.blobs.size()) {
                    throw new IllegalStateException(e.getKey() + ": chunk at file offset " + c.fileOffset()
                            + " names blob index " + c.blobIndex() + " but the blob table has " + tree.blobs.size());
                }
                if (!done.add(c.blobIndex() + ":" + c.info().index())) {
                    continue;
                }
                if (buf.length < c.info().uncompressedSize()) {
                    buf = new byte[c.info().uncompressedSize()];
                }
                try {
                    reader.readChunk(tree.blobs.get(c.blobIndex()), c.info(), c.digest(), buf);
                } catch (IOException ex) {
                    throw new IOException(e.getKey() + ": chunk " + c.info().index() + " of blob "
                            + tree.blobs.get(c.blobIndex()).blobId() + " is bad: " + ex.getMessage(), ex);
                }
                n++;
            }
        }
        return n;
    }
}
