package dev.nydus4j.fuse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.x request read from a stream and its response: just enough HTTP for the nydusd API (request line,
 * headers, Content-Length body; one request per connection). Bounded: header lines 8 KiB, 100 headers, body 1 MiB.
 */
final class HttpExchange {
    static final int MAX_BODY = 1 << 20;
    private static final int MAX_LINE = 8192;
    private static final int MAX_HEADERS = 100;

    final String method;
    final String path;
    final Map<String, String> query;
    final Map<String, String> headers;
    final byte[] body;

    private HttpExchange(String method, String path, Map<String, String> query, Map<String, String> headers,
                         byte[] body) {
        this.method = method;
        this.path = path;
        this.query = query;
        this.headers = headers;
        this.body = body;
    }

    /** Reads one request; throws IOException with a reason for malformed input. */
    static HttpExchange read(InputStream in) throws IOException {
        String requestLine = line(in);
        if (requestLine == null || requestLine.isEmpty()) {
            throw new IOException("empty request");
        }
        String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            throw new IOException("malformed request line '" + requestLine + "'");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; ; i++) {
            if (i > MAX_HEADERS) {
                throw new IOException("too many headers");
            }
            String h = line(in);
            if (h == null) {
                throw new IOException("connection closed inside the headers");
            }
            if (h.isEmpty()) {
                break;
            }
            int c = h.indexOf(':');
            if (c <= 0) {
                throw new IOException("malformed header '" + h + "'");
            }
            headers.put(h.substring(0, c).trim().toLowerCase(Locale.ROOT), h.substring(c + 1).trim());
        }
        byte[] body = new byte[0];
        String cl = headers.get("content-length");
        if (cl != null) {
            long n;
            try {
                n = Long.parseLong(cl);
            } catch (NumberFormatException e) {
                throw new IOException("bad Content-Length '" + cl + "'");
            }
            if (n < 0 || n > MAX_BODY) {
                throw new IOException("request body of " + n + " bytes exceeds " + MAX_BODY);
            }
            body = in.readNBytes((int) n);
            if (body.length != n) {
                throw new IOException("request body truncated: " + body.length + " of " + n + " bytes");
            }
        }
        String target = parts[1];
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        Map<String, String> query = new LinkedHashMap<>();
        if (q >= 0) {
            for (String kv : target.substring(q + 1).split("&")) {
                if (kv.isEmpty()) {
                    continue;
                }
                int e = kv.indexOf('=');
                String k = URLDecoder.decode(e < 0 ? kv : kv.substring(0, e), StandardCharsets.UTF_8);
                String v = e < 0 ? "" : URLDecoder.decode(kv.substring(e + 1), StandardCharsets.UTF_8);
                query.putIfAbsent(k, v); // only the first occurrence counts
            }
        }
        return new HttpExchange(parts[0], path, query, headers, body);
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            }
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("request line or header longer than " + MAX_LINE + " bytes");
            }
            b.write(c);
        }
    }

    /** Writes a response; {@code body} null means no body. */
    static void respond(OutputStream out, int status, byte[] body) throws IOException {
        String reason = switch (status) {
            case 200 -> "OK";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 500 -> "Internal Server Error";
            case 501 -> "Not Implemented";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
        StringBuilder h = new StringBuilder();
        h.append("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        h.append("Server: Nydus API\r\n");
        h.append("Content-Type: application/json\r\n");
        h.append("Connection: close\r\n");
        h.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n\r\n");
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.write(body);
        }
        out.flush();
    }
}
