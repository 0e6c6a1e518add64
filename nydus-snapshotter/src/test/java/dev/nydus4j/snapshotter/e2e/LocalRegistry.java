package dev.nydus4j.snapshotter.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Debian's docker-registry on a free 127.0.0.1 port, filesystem storage and an access log under a temp dir. */
final class LocalRegistry {
    final String address;
    final Path log;

    private LocalRegistry(String address, Path log) {
        this.address = address;
        this.log = log;
    }

    static LocalRegistry start(Processes procs, Path dir) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dir.resolve("data"));
        Path cfg = dir.resolve("config.yml");
        Files.writeString(cfg, """
                version: 0.1
                log: {level: info, accesslog: {disabled: false}}
                storage:
                  filesystem: {rootdirectory: %s}
                  delete: {enabled: true}
                  maintenance: {uploadpurging: {enabled: false}}
                http:
                  addr: 127.0.0.1:%d
                  secret: nydus4j-e2e
                """.formatted(dir.resolve("data"), port));
        procs.start("registry", List.of("docker-registry", "serve", cfg.toString()));
        String address = "127.0.0.1:" + port;
        HttpClient http = HttpClient.newHttpClient();
        boolean up = Processes.await(Duration.ofSeconds(20), () -> {
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        if (!up) {
            throw new IOException("docker-registry did not come up; see " + procs.log("registry"));
        }
        return new LocalRegistry(address, procs.log("registry"));
    }

    private static final java.util.regex.Pattern ACCESS =
            java.util.regex.Pattern.compile("\"GET [^\"]*\" (\\d{3}) (\\d+) \"[^\"]*\" \"([^\"]*)\"");

    /** Bytes the registry sent for GETs of {@code digest} to clients whose user agent contains {@code agent}. */
    long bytesServed(String digest, String agent) throws IOException {
        long total = 0;
        for (String line : accessLines(digest)) {
            java.util.regex.Matcher m = ACCESS.matcher(line);
            if (m.find() && m.group(3).contains(agent)) {
                total += Long.parseLong(m.group(2));
            }
        }
        return total;
    }

    /** Access-log lines of the registry that record a GET of {@code digest}. */
    List<String> accessLines(String digest) throws IOException {
        return Files.readAllLines(log).stream().filter(l -> l.contains(digest) && l.contains("\"GET ")).toList();
    }
}
