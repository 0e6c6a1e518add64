package dev.nydus4j.convert;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.fuse.NydusDaemon;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A nydusd for {@code check --nydusd} tests that runs without the packaged CLI jar (which CI builds after this
 * module): {@link #launcher} writes a script that starts this class in a new JVM on the test class path; it takes
 * the flags nydusify passes ({@code --config --mountpoint --bootstrap --apisock --log-level}), mounts with our
 * daemon and unmounts on SIGTERM.
 */
final class TestNydusd {
    private TestNydusd() {
    }

    /** An executable {@code nydusd} script in {@code dir}. */
    static Path launcher(Path dir) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path script = dir.resolve("nydusd");
        Files.writeString(script, "#!/bin/sh\nexec '" + java + "' -Xmx256m -cp '" + System.getProperty("java.class.path")
                + "' " + TestNydusd.class.getName() + " \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            flags.put(args[i], args[i + 1]);
        }
        for (String f : new String[]{"--config", "--mountpoint", "--bootstrap"}) {
            if (!flags.containsKey(f)) {
                System.err.println("test nydusd: missing " + f);
                System.exit(2);
            }
        }
        NydusdConfig config = NydusdConfigParser.parse(Files.readString(Path.of(flags.get("--config"))),
                flags.get("--config"));
        Path mp = Path.of(flags.get("--mountpoint")).toAbsolutePath();
        NydusDaemon d = NydusDaemon.start(config, Path.of(flags.get("--bootstrap")), mp, BackendRegistry.discover());
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                d.close();
                Mounts.unmount(mp);
            } catch (IOException e) {
                System.err.println("test nydusd: unmount " + mp + ": " + e.getMessage());
            } finally {
                done.countDown();
            }
        }));
        done.await();
    }
}
