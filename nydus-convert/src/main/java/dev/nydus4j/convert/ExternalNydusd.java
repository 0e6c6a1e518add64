package dev.nydus4j.convert;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A nydusd binary started as nydusify does ({@code nydusd --config F --mountpoint M --bootstrap B --apisock S
 * --log-level warn}); {@link #close()} unmounts and stops it by pid.
 */
final class ExternalNydusd implements AutoCloseable {
    private static final long READY_TIMEOUT_MS = 30_000;

    private final Process process;
    private final Path mountpoint;
    private final Path log;

    private ExternalNydusd(Process process, Path mountpoint, Path log) {
        this.process = process;
        this.mountpoint = mountpoint;
        this.log = log;
    }

    /**
     * @param config     nydusd config file ({@link NydusdConfigJson})
     * @param mountpoint existing directory
     */
    static ExternalNydusd start(Path nydusd, Path bootstrap, Path config, Path mountpoint, Path workDir)
            throws IOException {
        if (!Files.isExecutable(nydusd)) {
            throw new IOException("--nydusd " + nydusd + " is not an executable file");
        }
        Path mp = mountpoint;
        Path log = workDir.resolve("nydusd.log");
        Process p = new ProcessBuilder(nydusd.toString(), "--config", config.toString(), "--mountpoint",
                mp.toString(), "--bootstrap", bootstrap.toString(), "--apisock",
                workDir.resolve("nydusd.sock").toString(), "--log-level", "warn")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ExternalNydusd d = new ExternalNydusd(p, mp.toAbsolutePath(), log);
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        try {
            while (!Mounts.isMounted(d.mountpoint)) {
                if (!p.isAlive()) {
                    throw new IOException("nydusd exited with " + p.exitValue() + " before mounting: " + d.log());
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("nydusd did not mount " + mp + " within " + READY_TIMEOUT_MS + " ms: "
                            + d.log());
                }
                Thread.sleep(50);
            }
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        } catch (InterruptedException e) {
            d.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for nydusd", e);
        }
        return d;
    }

    Path mountpoint() {
        return mountpoint;
    }

    private String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() throws IOException {
        try {
            Mounts.unmount(mountpoint);
        } finally {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
