package dev.nydus4j.testkit.oci;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code docker-registry} (Debian package) on 127.0.0.1 with a free port and its storage in a directory,
 * stopped by pid in {@link #close()} (TESTING.md 2.1, 2.4). Tests call {@link #available()} and skip when it is
 * false. Its access log (Apache combined format: request line, status, bytes sent, user agent) is on, so tests
 * can prove from the registry's own record which blob bytes were fetched ({@link #accessLog()}).
 */
public final class LocalRegistry implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/bin/docker-registry");

    private final Process process;
    private final int port;
    private final Path dir;

    private LocalRegistry(Process process, int port, Path dir) {
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    public static boolean available() {
        return Files.isExecutable(BINARY);
    }

    /** Skips the calling test when docker-registry is not installed. */
    public static void assumeInstalled() {
        org.junit.jupiter.api.Assumptions.assumeTrue(available(), "docker-registry is not installed (apt-get install"
                + " docker-registry); skipping tests against a real registry");
    }

    /** An anonymous plain-http registry storing into {@code dir}. */
    public static LocalRegistry start(Path dir) throws IOException, InterruptedException {
        return start(dir, "", "");
    }

    /**
     * A registry with an extra top-level YAML block (e.g. {@code auth:} with htpasswd, see {@link #htpasswdLine}).
     */
    public static LocalRegistry start(Path dir, String extraYaml) throws IOException, InterruptedException {
        return start(dir, "", extraYaml);
    }

    /**
     * A registry storing into {@code dir}.
     *
     * @param extraHttpYaml lines added under {@code http:} (indented 2), e.g. a tls block; may be empty
     * @param topLevelYaml  extra top-level blocks such as {@code auth:}; may be empty
     */
    public static LocalRegistry start(Path dir, String extraHttpYaml, String topLevelYaml)
            throws IOException, InterruptedException {
        int port = freePort();
        Files.createDirectories(dir.resolve("data"));
        String yaml = "version: 0.1\n"
                + "log: {level: warn, accesslog: {disabled: false}}\n"
                + "storage:\n"
                + "  filesystem: {rootdirectory: " + dir.resolve("data") + "}\n"
                + "  delete: {enabled: true}\n"
                + "  maintenance: {uploadpurging: {enabled: false}}\n"
                + "http:\n"
                + "  addr: 127.0.0.1:" + port + "\n"
                + "  secret: nydus4j-testkit-secret\n"
                + extraHttpYaml
                + topLevelYaml;
        Path config = dir.resolve("config.yml");
        Files.writeString(config, yaml);
        Process p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        LocalRegistry r = new LocalRegistry(p, port, dir);
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

    /** The one password tests use when python3's crypt is missing (Python 3.13+ dropped it). */
    public static final String FIXTURE_PASSWORD = "s3cret-Pa55";
    /** Cost-4 bcrypt of {@link #FIXTURE_PASSWORD}, made with python3 crypt.mksalt(METHOD_BLOWFISH, rounds=16). */
    private static final String FIXTURE_HASH = "$2b$04$T2KHj5J25mdV.4JSLFK1WegSZHr4RpwZIIv1sXC.2bUMhPLy2ml8e";

    /**
     * A bcrypt htpasswd line made with python3's crypt module (TESTING.md 2.4); without it, the pre-generated hash
     * of {@link #FIXTURE_PASSWORD}.
     */
    public static String htpasswdLine(String user, String password) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-W", "ignore", "-c",
                    "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
                    password).redirectErrorStream(true).start();
        } catch (IOException e) {
            if (password.equals(FIXTURE_PASSWORD)) {
                return user + ":" + FIXTURE_HASH + "\n";
            }
            throw new IOException("python3 is not available to make a bcrypt hash: " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0 || !out.startsWith("$2")) {
            if (password.equals(FIXTURE_PASSWORD)) {
                return user + ":" + FIXTURE_HASH + "\n";
            }
            throw new IOException("python3 crypt could not make a bcrypt hash: " + out);
        }
        return user + ":" + out + "\n";
    }

    /** A free TCP port on the loopback interface (for test servers). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    public String host() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The registry's storage root ({@code docker/registry/v2/...} below it). */
    public Path dataDir() {
        return dir.resolve("data");
    }

    /** The stored bytes of blob {@code sha256:<hex>} (to corrupt it in tests). */
    public Path blobData(String digest) {
        String hex = digest.substring(digest.indexOf(':') + 1);
        return dataDir().resolve("docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex)
                .resolve("data");
    }

    /** One line of the registry's access log. {@code bytes} is the body size sent (0 for "-"). */
    public record Access(String method, String uri, int status, long bytes, String userAgent) {
        public boolean isBlobGet(String digestHex) {
            return method.equals("GET") && uri.endsWith("/blobs/sha256:" + digestHex);
        }
    }

    private static final Pattern ACCESS = Pattern.compile(
            "^\\S+ \\S+ \\S+ \\[[^\\]]+\\] \"(\\S+) (\\S+) [^\"]*\" (\\d{3}) (\\d+|-) \"[^\"]*\" \"([^\"]*)\"");

    /**
     * The access-log lines written so far, in order. docker-registry writes a line when the response is complete;
     * callers that just finished a request poll with {@link #awaitAccessLog(int)}.
     */
    public List<Access> accessLog() {
        List<Access> out = new ArrayList<>();
        for (String line : log().split("\n")) {
            Matcher m = ACCESS.matcher(line);
            if (m.find()) {
                out.add(new Access(m.group(1), m.group(2), Integer.parseInt(m.group(3)),
                        m.group(4).equals("-") ? 0 : Long.parseLong(m.group(4)), m.group(5)));
            }
        }
        return out;
    }

    /** The access log once it has at least {@code lines} lines (waits up to 5 s, then returns what there is). */
    public List<Access> awaitAccessLog(int lines) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<Access> log = accessLog();
        while (log.size() < lines && System.nanoTime() < deadline) {
            Thread.sleep(20);
            log = accessLog();
        }
        return log;
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("registry.log"));
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
