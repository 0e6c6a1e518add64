package dev.nydus4j.convert;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;

/**
 * A reverse proxy on 127.0.0.1 (free port) in front of a real registry that forwards every request unchanged
 * (upload {@code Location}s are rewritten to point back at the proxy) except those {@link #fault} answers itself:
 * a status code (e.g. 500 for the PUT that completes a blob upload, 403 for the POST starting one) with a registry
 * error body. Records every request line.
 */
final class FaultProxy implements AutoCloseable {
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "expect", "host", "upgrade",
            "transfer-encoding", "keep-alive", "te", "trailer", "proxy-connection");

    /** Method and path (with query) of each request seen. */
    final List<String> requests = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
    private final String upstream;
    /** (method, path) -> status to answer with instead of forwarding, or null to forward. */
    volatile BiFunction<String, String, Integer> fault = (m, p) -> null;

    /** @param upstream {@code host:port} of the registry (plain http) */
    FaultProxy(String upstream) throws IOException {
        this.upstream = upstream;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "fault-proxy");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** {@code 127.0.0.1:<port>} of the proxy. */
    String host() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getRawPath()
                    + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
            requests.add(method + " " + path);
            byte[] body = ex.getRequestBody().readAllBytes();
            Integer status = fault.apply(method, path);
            if (status != null) {
                String code = status == 403 ? "DENIED" : status == 401 ? "UNAUTHORIZED" : "UNKNOWN";
                byte[] err = ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"injected by the test's fault"
                        + " proxy\"}]}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(status, err.length);
                ex.getResponseBody().write(err);
                return;
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create("http://" + upstream + path))
                    .timeout(Duration.ofSeconds(60))
                    .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            ex.getRequestHeaders().forEach((k, vs) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT))) {
                    vs.forEach(v -> rb.header(k, v));
                }
            });
            HttpResponse<byte[]> r;
            try {
                r = client.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            boolean head = method.equals("HEAD");
            r.headers().map().forEach((k, vs) -> {
                String name = k.toLowerCase(Locale.ROOT);
                if (name.equals("location")) {
                    vs.forEach(v -> ex.getResponseHeaders().add(k, v.replace(upstream, host())));
                } else if (!HOP_BY_HOP.contains(name) || head && name.equals("content-length")) {
                    vs.forEach(v -> ex.getResponseHeaders().add(k, v));
                }
            });
            byte[] out = r.body();
            if (head || out.length == 0) {
                ex.sendResponseHeaders(r.statusCode(), -1);
            } else {
                ex.sendResponseHeaders(r.statusCode(), out.length);
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(out);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
