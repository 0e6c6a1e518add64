package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.unpack.TarUnpacker;
import dev.nydus4j.storage.ChunkReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code nydus-image unpack}: writes the whole filesystem of an image as a tar (API spec 4.7). */
@Command(name = "unpack", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Unpack a RAFS image into a tar file.")
final class UnpackCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(UnpackCommand.class);

    @Parameters(index = "0", arity = "0..1", paramLabel = "BOOTSTRAP", description = "Bootstrap (or blob with inlined metadata).")
    Path positional;

    @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "Bootstrap (deprecated form).")
    Path option;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR", description = "Directory holding the data blobs.")
    Path blobDir;

    @Option(names = {"-b", "--blob"}, paramLabel = "FILE", description = "The data blob (single-blob images).")
    Path blob;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Output tar file.")
    Path output;

    @Option(names = "--backend-type", paramLabel = "TYPE",
            description = "Read the blobs through a storage backend (registry, localfs, ...) instead of -D/-b.")
    String backendType;

    @Option(names = "--backend-config", paramLabel = "JSON",
            description = "The backend's config object (CONFIG.md section 5), e.g. {\"host\":\"127.0.0.1:5000\","
                    + "\"repo\":\"app\",\"scheme\":\"http\"} for registry.")
    String backendConfig;

    @Option(names = "--backend-config-file", paramLabel = "FILE", description = "The backend's config object in a file.")
    Path backendConfigFile;

    @Override
    public Integer call() throws IOException {
        Path bootstrap = positional != null ? positional : option;
        if (bootstrap == null) {
            throw new IllegalArgumentException("missing BOOTSTRAP");
        }
        boolean viaBackend = backendType != null || backendConfig != null || backendConfigFile != null;
        if (viaBackend && (blobDir != null || blob != null)) {
            throw new IllegalArgumentException("--backend-type conflicts with --blob-dir and --blob");
        }
        Path dataBlob = blob;
        if (!viaBackend && blobDir == null && blob == null) {
            if (BootstrapSource.looksLikeBootstrap(bootstrap)) {
                throw new IllegalArgumentException("give the data blobs with --blob-dir or --blob");
            }
            dataBlob = bootstrap; // a blob with inlined metadata carries its own data
        }
        RafsTree tree = BootstrapSource.load(bootstrap);
        try (ChunkReader reader = viaBackend ? BackendChunkReaders.open(backendType, backendConfig, backendConfigFile)
                : BootstrapSource.chunkReader(blobDir, dataBlob);
             RafsImage image = RafsImage.open(tree, reader);
             OutputStream out = new BufferedOutputStream(Files.newOutputStream(output), 1 << 20)) {
            TarUnpacker.unpack(image, out);
        } catch (IOException | RuntimeException e) {
            if (Files.isRegularFile(output)) {
                Files.delete(output); // never leave a truncated tar that looks complete
            }
            throw e;
        }
        LOG.info("unpacked {} to {}", bootstrap, output);
        return 0;
    }
}
