package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.export.BlockImageExporter;
import dev.nydus4j.storage.ChunkReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code nydus-image export --block}: writes the flat EROFS block image of a v6 image (bootstrap followed by each
 * blob's uncompressed image), optionally with a dm-verity hash tree appended (RAFS spec 8.3, API spec 4.8).
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Export a RAFS v6 image as a raw EROFS block image, optionally with dm-verity data.")
final class ExportCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ExportCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--block", description = "Export a raw block image (the only export kind).")
    boolean block;

    @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "RAFS v6 bootstrap.")
    Path bootstrap;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR", description = "Directory with the data blobs.")
    Path blobDir;

    @Option(names = {"-b", "--blob"}, paramLabel = "FILE", description = "The data blob (single-blob images).")
    Path blob;

    @Option(names = {"-O", "--output"}, paramLabel = "FILE",
            description = "Output image (default: <blob dir>/<bootstrap name>.disk).")
    Path output;

    @Option(names = "--verity", description = "Append a dm-verity hash tree and print the veritysetup parameters.")
    boolean verity;

    @Option(names = "--threads", defaultValue = "4", paramLabel = "N", description = "Worker threads 1..32 (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "BlobCacheEntry config (not supported yet; use -B/-D).")
    Path config;

    @Override
    public Integer call() throws IOException {
        if (!block) {
            throw new IllegalArgumentException("only --block export is supported; add --block");
        }
        if (config != null) {
            throw new IllegalArgumentException("--config (BlobCacheEntry) is not supported yet; use --bootstrap and --blob-dir");
        }
        if (bootstrap == null || (blobDir == null && blob == null)) {
            throw new IllegalArgumentException("export --block needs --bootstrap and --blob-dir (or --blob)");
        }
        if (threads < 1 || threads > 32) {
            throw new IllegalArgumentException("invalid --threads " + threads + ": expected 1..32");
        }
        if (!BootstrapSource.looksLikeBootstrap(bootstrap)) {
            throw new IllegalArgumentException(bootstrap + " is not a RAFS bootstrap");
        }
        Path out = output != null ? output
                : (blobDir != null ? blobDir : blob.toAbsolutePath().getParent()).resolve(bootstrap.getFileName() + ".disk");
        BlockImageExporter.Result result;
        try (ChunkReader reader = BootstrapSource.chunkReader(blobDir, blob)) {
            result = BlockImageExporter.export(bootstrap, reader, out, verity);
        }
        PrintWriter pw = spec.commandLine().getOut();
        pw.println("block image: " + out);
        pw.printf("image size: %d bytes (%d blocks of 4096)%n", result.imageSize(), result.imageSize() / 4096);
        if (verity) {
            pw.printf("dm-verity: root hash %s, data blocks %d, hash offset %d, file size %d%n", result.rootHashHex(),
                    result.dataBlocks(), result.imageSize(), result.totalSize());
            pw.println(result.veritysetupHint(out));
        }
        pw.flush();
        LOG.info("exported {} to {}", bootstrap, out);
        return 0;
    }
}
