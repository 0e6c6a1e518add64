package dev.nydus4j.backend.registry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real {@code docker-registry} (Debian package) on 127.0.0.1 with a free port and storage in a temp dir,
 * stopped by pid in {@link #close()}. TESTING.md 2.1, 2.4-2.6.
 */
final class LocalRegistry implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/docker-registry");

    private final Process process;
    private final int port;
    private final Path log;

    private LocalRegistry(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    static void assumeInstalled() {
        assumeTrue(Files.isExecutable(BINARY), "docker-registry is not installed (apt-get install docker-registry);"
                + " skipping tests against a real registry");
    }

    /**
     * Starts a registry in {@code dir}.
     *
     * @param extraHttpYaml lines added under {@code http:} (indented 2), e.g. a tls block; may be empty
     * @param authYaml      a top-level {@code auth:} block or empty
     */
    static LocalRegistry start(Path dir, String extraHttpYaml, String authYaml) throws IOException,
            InterruptedException {
        int port = freePort();
        Files.createDirectories(dir.resolve("data"));
        String yaml = "version: 0.1\n"
                + "log: {level: warn, accesslog: {disabled: true}}\n"
                + "storage:\n"
                + "  filesystem: {rootdirectory: " + dir.resolve("data") + "}\n"
                + "  delete: {enabled: true}\n"
                + "  maintenance: {uploadpurging: {enabled: false}}\n"
                + "http:\n"
                + "  addr: 127.0.0.1:" + port + "\n"
                + "  secret: nydus4j-test-secret\n"
                + extraHttpYaml
                + authYaml;
        Path config = dir.resolve("config.yml");
        Files.writeString(config, yaml);
        Path log = dir.resolve("registry.log");
        Process p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LocalRegistry r = new LocalRegistry(p, port, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException("docker-registry exited with " + p.exitValue() + ": " + r.log());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return r;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        r.close();
        throw new IOException("docker-registry did not listen on port " + port + " within 15 s: " + r.log());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A bcrypt htpasswd line made by python3's crypt (TESTING.md 2.4); without python3 (or on Python 3.13+, which
     * dropped crypt) the pre-generated hash of the one password the tests use.
     */
    static String htpasswdLine(String user, String password) throws IOException, InterruptedException {
        try {
            return user + ":" + bcrypt(password) + "\n";
        } catch (IOException e) {
            if (!password.equals(FIXTURE_PASSWORD)) {
                throw e;
            }
            return user + ":" + FIXTURE_HASH + "\n";
        }
    }

    /** Cost-4 bcrypt of {@link #FIXTURE_PASSWORD}, made with python3 crypt.mksalt(METHOD_BLOWFISH, rounds=16). */
    static final String FIXTURE_PASSWORD = "s3cret-Pa55";
    private static final String FIXTURE_HASH = "$2b$04$T2KHj5J25mdV.4JSLFK1WegSZHr4RpwZIIv1sXC.2bUMhPLy2ml8e";

    private static String bcrypt(String password) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-W", "ignore", "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
                password).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("python3 is not available: " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0 || !out.startsWith("$2")) {
            throw new IOException("python3 crypt could not make a bcrypt hash: " + out);
        }
        return out;
    }

    String host() {
        return "127.0.0.1:" + port;
    }

    int port() {
        return port;
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(2, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(2, TimeUnit.SECONDS);
        }
    }
}
