package dev.nydus4j.backend.localfs;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** The {@code localfs} backend (BACKENDS.md 5): blobs are files named by their id. */
public final class LocalfsBackendProvider implements BlobBackendProvider<LocalfsConfig> {
    private static final Pattern BLOB_ID = Pattern.compile("[0-9a-zA-Z._-]{1,255}");

    @Override
    public String type() {
        return "localfs";
    }

    @Override
    public Class<LocalfsConfig> configType() {
        return LocalfsConfig.class;
    }

    @Override
    public void validate(LocalfsConfig config) {
        if (config.blobFile().isEmpty() && config.dir().isEmpty()) {
            throw new IllegalArgumentException("localfs backend needs 'blob_file' or 'dir'");
        }
    }

    @Override
    public BlobBackend open(LocalfsConfig config, String blobId, BackendContext context) throws IOException {
        validate(config);
        // blob ids come from images: never let one name a path outside the configured directories
        if (!BLOB_ID.matcher(blobId).matches() || blobId.equals(".") || blobId.equals("..")) {
            throw new IllegalArgumentException("invalid blob id '" + blobId + "' for localfs backend");
        }
        Path path = locate(config, blobId);
        return new LocalfsBlobBackend(blobId, path.toRealPath());
    }

    private static Path locate(LocalfsConfig config, String blobId) throws IOException {
        if (!config.blobFile().isEmpty()) {
            Path p = Path.of(config.blobFile());
            if (!Files.isRegularFile(p)) {
                throw new FileNotFoundException("localfs blob_file " + p + " does not exist");
            }
            return p;
        }
        List<Path> tried = new ArrayList<>();
        Path primary = Path.of(config.dir()).resolve(blobId);
        tried.add(primary);
        if (nonEmptyFile(primary) || config.altDirs().isEmpty() && Files.isRegularFile(primary)) {
            return primary;
        }
        for (String alt : config.altDirs()) {
            Path p = Path.of(alt).resolve(blobId);
            tried.add(p);
            if (nonEmptyFile(p)) {
                return p;
            }
        }
        throw new FileNotFoundException("blob " + blobId + " not found by localfs backend; tried " + tried);
    }

    private static boolean nonEmptyFile(Path p) throws IOException {
        return Files.isRegularFile(p) && Files.size(p) > 0;
    }
}
