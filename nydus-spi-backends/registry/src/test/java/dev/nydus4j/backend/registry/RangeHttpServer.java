package dev.nydus4j.backend.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A JDK HttpServer on an ephemeral port whose handlers can serve blob ranges; records every exchange. */
final class RangeHttpServer implements AutoCloseable {
    /** One request: path (with query) and its Authorization header (null if absent). */
    record Seen(String path, String authorization) {
    }

    final List<Seen> seen = new CopyOnWriteArrayList<>();
    final HttpServer server;

    RangeHttpServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    String host() {
        return "127.0.0.1:" + port();
    }

    void handle(String path, HttpHandler handler) {
        server.createContext(path, ex -> {
            seen.add(new Seen(ex.getRequestURI().toString(), ex.getRequestHeaders().getFirst("Authorization")));
            try (ex) {
                handler.handle(ex);
            }
        });
    }

    long count(String prefix) {
        return seen.stream().filter(s -> s.path().startsWith(prefix)).count();
    }

    /** Answers a {@code Range: bytes=a-b} GET of {@code blob} with 206. */
    static void serveRange(HttpExchange ex, byte[] blob) throws IOException {
        String range = ex.getRequestHeaders().getFirst("Range");
        String[] p = range.substring("bytes=".length()).split("-");
        int first = Integer.parseInt(p[0]);
        int last = Math.min(Integer.parseInt(p[1]), blob.length - 1);
        ex.getResponseHeaders().set("Content-Range", "bytes " + first + "-" + last + "/" + blob.length);
        ex.sendResponseHeaders(206, last - first + 1);
        ex.getResponseBody().write(blob, first, last - first + 1);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
