package dev.nydus4j.testkit.oci;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real nginx on 127.0.0.1 with a free port standing in for Dragonfly's dfdaemon (TESTING.md 4): a caching proxy
 * ({@code proxy_cache} + {@code slice 1m}) for registry blob URLs, usable as a forward proxy (absolute-form
 * requests for any loopback origin, what {@code proxy.url} sends) and as a mirror of one default origin (requests
 * whose Host is nginx itself, what {@code mirrors} send).
 * {@code /server/ping} answers 200 (the {@code ping_url}). Prefix, config, cache and logs live in one directory;
 * the master runs in the foreground as a child process and is stopped by pid. {@link #stop()} and
 * {@link #start()} take it down and bring it back on the same port with its cache, for fallback and recovery
 * tests. Every request is in {@link #accessLog()} with its cache status, Range and Dragonfly headers.
 */
public final class NginxProxy implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/sbin/nginx");
    private static final String CONF = """
            %s
            worker_processes 1;
            pid %s/nginx.pid;
            error_log %s/logs/error.log info;
            events { worker_connections 256; }
            http {
              client_body_temp_path %s/tmp/body;  proxy_temp_path %s/tmp/proxy;
              fastcgi_temp_path %s/tmp/fastcgi;   uwsgi_temp_path %s/tmp/uwsgi;  scgi_temp_path %s/tmp/scgi;
              proxy_cache_path %s/cache levels=1:2 keys_zone=blobs:10m max_size=4g inactive=1h use_temp_path=off;
              log_format nydus '$request_method\\t$request_uri\\t$status\\t$upstream_cache_status\\t$http_range\\t'
                               '$body_bytes_sent\\t$http_x_dragonfly_priority\\t$http_x_dragonfly_use_p2p\\t$http_host';
              access_log %s/logs/access.log nydus;
              server {
                listen 127.0.0.1:%d;
                set $origin %s;
                if ($http_host ~ "^127\\.0\\.0\\.1:[0-9]+$") { set $origin $http_host; }
                if ($http_host = "127.0.0.1:%d") { set $origin %s; }
                location ~ "^/v2/.+/blobs/sha256:[0-9a-f]{64}$" {
                  slice 1m;
                  proxy_cache blobs;
                  proxy_cache_key $origin$uri$slice_range;
                  proxy_set_header Range $slice_range;
                  proxy_set_header Host $origin;
                  proxy_http_version 1.1;
                  proxy_cache_valid 200 206 1h;
                  proxy_cache_lock on;
                  proxy_ignore_headers Cache-Control Expires Set-Cookie;
                  add_header X-Cache-Status $upstream_cache_status always;
                  proxy_pass http://$origin;
                }
                location = /server/ping { return 200 "ok\\n"; }
                location / {
                  proxy_set_header Host $origin;
                  proxy_http_version 1.1;
                  proxy_request_buffering off; proxy_buffering off; client_max_body_size 0;
                  proxy_pass http://$origin;
                }
              }
            }
            """;

    /** One access-log line. {@code cacheStatus} is HIT, MISS, ... or "-" (not a cached location). */
    public record Access(String method, String uri, int status, String cacheStatus, String range, long bytes,
                         String dragonflyPriority, String dragonflyUseP2p, String host) {
        public boolean isBlob() {
            return uri.contains("/blobs/sha256:");
        }
    }

    private final Path dir;
    private final int port;
    private Process process;

    private NginxProxy(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    public static boolean available() {
        return Files.isExecutable(BINARY);
    }

    /** Skips the calling test when nginx is not installed. */
    public static void assumeInstalled() {
        org.junit.jupiter.api.Assumptions.assumeTrue(available(), "nginx is not installed (apt-get install nginx);"
                + " skipping tests with the Dragonfly stand-in");
    }

    /**
     * Starts nginx in {@code dir} on a free port.
     *
     * @param defaultOrigin {@code host:port} used for requests whose Host is not a loopback address (mirror mode)
     */
    public static NginxProxy start(Path dir, String defaultOrigin) throws IOException, InterruptedException {
        Path abs = dir.toAbsolutePath();
        for (String d : List.of("logs", "cache", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi")) {
            Files.createDirectories(abs.resolve(d));
        }
        int port = LocalRegistry.freePort();
        boolean root = "root".equals(System.getProperty("user.name"));
        String p = abs.toString();
        String conf = CONF.formatted(root ? "user root;" : "", p, p, p, p, p, p, p, p, p, port, defaultOrigin, port,
                defaultOrigin);
        Files.writeString(abs.resolve("nginx.conf"), conf);
        NginxProxy n = new NginxProxy(abs, port);
        n.start();
        return n;
    }

    /** (Re)starts the master on the same port, config and cache; returns when it accepts connections. */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("nginx is already running with pid " + process.pid());
        }
        process = new ProcessBuilder(BINARY.toString(), "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(),
                "-g", "daemon off;").redirectErrorStream(true).redirectOutput(dir.resolve("logs/stdout.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("nginx exited with " + process.exitValue() + ": " + errorLog());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        stop();
        throw new IOException("nginx did not listen on port " + port + " within 15 s: " + errorLog());
    }

    /** Stops the master by pid (SIGTERM: fast shutdown) and waits until the port is closed. */
    public synchronized void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
        process = null;
        // the worker exits with the master; wait until nobody listens any more
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                Thread.sleep(20);
            } catch (IOException closed) {
                return;
            }
        }
    }

    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    /** {@code http://127.0.0.1:<port>}: the {@code proxy.url}. */
    public String url() {
        return "http://127.0.0.1:" + port;
    }

    /** {@code http://127.0.0.1:<port>/server/ping}: the {@code ping_url}. */
    public String pingUrl() {
        return url() + "/server/ping";
    }

    public int port() {
        return port;
    }

    public Path dir() {
        return dir;
    }

    /** Every request logged so far (nginx writes each line when the request ends). */
    public List<Access> accessLog() throws IOException {
        Path log = dir.resolve("logs/access.log");
        List<Access> out = new ArrayList<>();
        if (!Files.exists(log)) {
            return out;
        }
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", -1);
            if (f.length < 9) {
                throw new IOException("unexpected nginx access log line in " + log + ": " + line);
            }
            out.add(new Access(f[0], f[1], Integer.parseInt(f[2]), f[3], f[4], Long.parseLong(f[5]), f[6], f[7],
                    f[8]));
        }
        return out;
    }

    /** Blob requests logged so far. */
    public List<Access> blobAccesses() throws IOException {
        return accessLog().stream().filter(Access::isBlob).toList();
    }

    public String errorLog() {
        try {
            return Files.readString(dir.resolve("logs/error.log")) + Files.readString(dir.resolve("logs/stdout.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
