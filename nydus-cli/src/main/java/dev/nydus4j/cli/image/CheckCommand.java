package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.check.ImageChecker;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.config.NydusdConfigParser;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code nydus-image check}: {@link ImageChecker} parses a bootstrap strictly and, with {@code -D} or {@code -b}, reads
 * and verifies every chunk it references (API spec 4.3).
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

    @Option(names = {"-C", "--config"}, paramLabel = "FILE",
            description = "nydusd config whose backend holds the blobs (every chunk is fetched and verified).")
    Path config;

    @Option(names = {"-v", "--verbose"}, description = "List every inode.")
    boolean verbose;

    @Option(names = {"-J", "--output-json"}, paramLabel = "FILE", description = "Write the result JSON here.")
    Path outputJson;

    @Override
    public Integer call() throws IOException {
        if (blobDir != null && blob != null) {
            throw new IllegalArgumentException("give either --blob-dir or --blob, not both");
        }
        if (config != null && (blobDir != null || blob != null)) {
            throw new IllegalArgumentException("--config conflicts with --blob-dir and --blob");
        }
        Path bootstrap = target.path();
        Path data = blobDir != null ? blobDir : blob;
        PrintWriter out = spec.commandLine().getOut();
        ImageChecker.Report report;
        if (config != null) {
            RafsTree tree = BootstrapSource.load(bootstrap);
            report = ImageChecker.check(tree, Bootstraps.version(BootstrapSource.bootstrapBytes(bootstrap),
                    bootstrap.toString()), BackendChunkReaders.open(NydusdConfigParser.parseFile(config), config.toString()));
        } else if (BootstrapSource.looksLikeBootstrap(bootstrap)) {
            report = ImageChecker.check(bootstrap, data);
        } else {
            // a blob with inlined metadata: check its bootstrap, and its own data unless other blobs are named
            byte[] boot = BootstrapSource.bootstrapBytes(bootstrap);
            String resource = bootstrap + "#image.boot";
            report = ImageChecker.check(BootstrapSource.loadInlined(bootstrap), Bootstraps.version(boot, resource),
                    data != null ? data : bootstrap);
        }
        if (verbose) {
            for (Map.Entry<String, Node> e : TreePaths.of(BootstrapSource.load(bootstrap)).entrySet()) {
                Inode in = e.getValue().inode();
                out.printf("inode %d %s mode 0%o uid %d gid %d size %d chunks %d%n", in.ino, e.getKey(), in.mode, in.uid,
                        in.gid, in.size, in.chunks.size());
            }
        }
        out.print(report.toText());
        out.flush();
        if (outputJson != null) {
            List<String> ids = new ArrayList<>();
            report.blobs().forEach(b -> ids.add(b.blobId()));
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("inodes", report.inodes());
            trace.put("blobs_checked", report.blobsChecked());
            trace.put("chunks_verified", report.chunksVerified());
            trace.put("bytes_verified", report.bytesVerified());
            String compressor = report.blobs().isEmpty() ? "none"
                    : CompressionAlgorithm.fromId(blobCompressor(bootstrap)).configName();
            ResultJson.of(bootstrap, ids, trace, report.version(), compressor).write(outputJson);
        }
        return 0;
    }

    private static int blobCompressor(Path bootstrap) throws IOException {
        RafsTree tree = BootstrapSource.load(bootstrap);
        return tree.blobs.isEmpty() ? tree.compressor.id() : tree.blobs.get(0).compressionAlgo();
    }
}
