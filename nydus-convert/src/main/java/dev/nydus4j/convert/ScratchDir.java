package dev.nydus4j.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One run's temporary directory under {@code --work-dir} (created when missing). Closing removes the run's
 * directory, and the work dir too when this run created it; a file that cannot be removed is logged, never thrown
 * over the run's own outcome.
 */
final class ScratchDir implements AutoCloseable {
    private final Path workDir;
    private final boolean createdWorkDir;
    private final Path path;

    private ScratchDir(Path workDir, boolean createdWorkDir, Path path) {
        this.workDir = workDir;
        this.createdWorkDir = createdWorkDir;
        this.path = path;
    }

    static ScratchDir create(Path workDir, String prefix) throws IOException {
        boolean created = !Files.exists(workDir);
        Files.createDirectories(workDir);
        return new ScratchDir(workDir, created, Files.createTempDirectory(workDir, prefix));
    }

    Path path() {
        return path;
    }

    @Override
    public void close() {
        Converter.deleteTree(path);
        if (createdWorkDir) {
            Converter.deleteTree(workDir);
        }
    }
}
