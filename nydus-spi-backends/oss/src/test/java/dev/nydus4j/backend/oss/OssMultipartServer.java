package dev.nydus4j.backend.oss;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small OSS stand-in on 127.0.0.1 (no OSS-compatible server runs here, TESTING.md 3.1) for the multipart API:
 * InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, plus HEAD and Range GET of
 * objects. Every request must carry a V1 signature, checked here with its own code written from the OSS docs
 * ("Include signatures in the Authorization header": verb, Content-MD5, Content-Type, Date, sorted {@code x-oss-*}
 * headers, {@code /bucket/key} plus the sorted sub-resources); a Content-MD5 must match the body. Bad signatures get
 * 403 SignatureDoesNotMatch and are counted. Chosen parts can be made to fail with 500.
 */
final class OssMultipartServer implements AutoCloseable {
    /** Upload ids contain characters that must be encoded in a query (and signed decoded). */
    private static final String ID_PREFIX = "0004B9895DBBB6EC98E3+/=";
    private static final Pattern PART = Pattern.compile(
            "<Part><PartNumber>(\\d+)</PartNumber><ETag>([^<]*)</ETag></Part>");

    private final HttpServer server;
    private final String bucket;
    private final String accessKeyId;
    private final String secret;
    private final AtomicInteger ids = new AtomicInteger();
    final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    /** upload id -> key and parts (part number -> bytes). */
    final Map<String, Map.Entry<String, Map<Integer, byte[]>>> uploads = new ConcurrentHashMap<>();
    /** part number -> how many more UploadPart calls of it fail (Integer.MAX_VALUE: always). */
    final Map<Integer, Integer> failures = new ConcurrentHashMap<>();
    /** "METHOD ?query" of each request, in arrival order. */
    final List<String> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger badSignatures = new AtomicInteger();
    final AtomicInteger partsWithoutMd5 = new AtomicInteger();

    OssMultipartServer(String bucket, String accessKeyId, String secret) throws IOException {
        this.bucket = bucket;
        this.accessKeyId = accessKeyId;
        this.secret = secret;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "oss-double");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** {@code localhost:<port>}: buckets are virtual hosts {@code <bucket>.localhost}, which resolve to loopback. */
    String endpoint() {
        return "localhost:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] body = ex.getRequestBody().readAllBytes();
            String method = ex.getRequestMethod();
            String rawQuery = ex.getRequestURI().getRawQuery();
            Map<String, String> query = parseQuery(rawQuery);
            requests.add(method + " ?" + (rawQuery == null ? "" : rawQuery));
            String host = ex.getRequestHeaders().getFirst("Host");
            if (host == null || !host.startsWith(bucket + ".")) {
                send(ex, 404, error("NoSuchBucket", "bucket of host " + host + " does not exist"));
                return;
            }
            String key = URLDecoder.decode(ex.getRequestURI().getRawPath().substring(1), StandardCharsets.UTF_8);
            String problem = checkSignature(ex, method, key, query);
            if (problem != null) {
                badSignatures.incrementAndGet();
                send(ex, 403, error("SignatureDoesNotMatch", problem));
                return;
            }
            String md5 = ex.getRequestHeaders().getFirst("Content-MD5");
            if (md5 != null && !md5.equals(Base64.getEncoder().encodeToString(digest("MD5", body)))) {
                send(ex, 400, error("InvalidDigest", "The Content-MD5 you specified is not valid."));
                return;
            }
            if ("POST".equals(method) && query.containsKey("uploads")) {
                String id = ID_PREFIX + ids.incrementAndGet();
                uploads.put(id, Map.entry(key, new ConcurrentHashMap<>()));
                send(ex, 200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>"
                        + bucket + "</Bucket><Key>" + key + "</Key><UploadId>" + id
                        + "</UploadId></InitiateMultipartUploadResult>");
            } else if ("PUT".equals(method) && query.containsKey("uploadId")) {
                var upload = uploads.get(query.get("uploadId"));
                if (upload == null || !upload.getKey().equals(key)) {
                    send(ex, 404, error("NoSuchUpload", "The specified upload does not exist."));
                    return;
                }
                if (md5 == null) {
                    partsWithoutMd5.incrementAndGet();
                }
                int part = Integer.parseInt(query.get("partNumber"));
                Integer left = failures.get(part);
                if (left != null && left > 0) {
                    failures.put(part, left == Integer.MAX_VALUE ? left : left - 1);
                    send(ex, 500, error("InternalError", "injected failure of part " + part));
                    return;
                }
                upload.getValue().put(part, body);
                ex.getResponseHeaders().set("ETag", etag(body));
                send(ex, 200, "");
            } else if ("POST".equals(method) && query.containsKey("uploadId")) {
                var upload = uploads.get(query.get("uploadId"));
                if (upload == null || !upload.getKey().equals(key)) {
                    send(ex, 404, error("NoSuchUpload", "The specified upload does not exist."));
                    return;
                }
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                Matcher m = PART.matcher(new String(body, StandardCharsets.UTF_8));
                int expected = 1;
                while (m.find()) {
                    byte[] data = upload.getValue().get(Integer.parseInt(m.group(1)));
                    if (Integer.parseInt(m.group(1)) != expected++ || data == null
                            || !etag(data).equals(m.group(2).replace("&quot;", "\""))) {
                        send(ex, 400, error("InvalidPart", "part " + m.group(1) + " is missing or its ETag differs"));
                        return;
                    }
                    all.write(data);
                }
                if (expected == 1) {
                    send(ex, 400, error("MalformedXML", "no parts"));
                    return;
                }
                uploads.remove(query.get("uploadId"));
                objects.put(key, all.toByteArray());
                send(ex, 200, "<CompleteMultipartUploadResult><Bucket>" + bucket + "</Bucket><Key>" + key
                        + "</Key><ETag>\"multipart\"</ETag></CompleteMultipartUploadResult>");
            } else if ("DELETE".equals(method) && query.containsKey("uploadId")) {
                if (uploads.remove(query.get("uploadId")) == null) {
                    send(ex, 404, error("NoSuchUpload", "The specified upload does not exist."));
                    return;
                }
                send(ex, 204, null);
            } else if ("HEAD".equals(method) || "GET".equals(method)) {
                byte[] data = objects.get(key);
                if (data == null) {
                    send(ex, 404, "HEAD".equals(method) ? null : error("NoSuchKey", "no such key"));
                    return;
                }
                if ("HEAD".equals(method)) {
                    ex.getResponseHeaders().set("Content-Length", Long.toString(data.length));
                    ex.sendResponseHeaders(200, -1);
                    return;
                }
                String range = ex.getRequestHeaders().getFirst("Range");
                int from = 0;
                int to = data.length - 1;
                if (range != null) {
                    String[] r = range.substring("bytes=".length()).split("-");
                    from = Integer.parseInt(r[0]);
                    to = Math.min(to, Integer.parseInt(r[1]));
                }
                byte[] slice = java.util.Arrays.copyOfRange(data, from, to + 1);
                ex.sendResponseHeaders(range == null ? 200 : 206, slice.length);
                ex.getResponseBody().write(slice);
            } else {
                send(ex, 400, error("InvalidRequest", method + " ?" + rawQuery + " is not served here"));
            }
        } catch (RuntimeException e) {
            // answered as a 500 so a test failure shows the cause
            try {
                send(ex, 500, error("InternalError", e.toString()));
            } catch (IOException ignored) {
                // connection gone
            }
        }
    }

    /** Null when the request's Authorization is the V1 signature computed here; else what is wrong. */
    private String checkSignature(HttpExchange ex, String method, String key, Map<String, String> query) {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String date = ex.getRequestHeaders().getFirst("Date");
        if (auth == null || date == null) {
            return "Authorization or Date missing";
        }
        TreeMap<String, String> ossHeaders = new TreeMap<>();
        ex.getRequestHeaders().forEach((name, values) -> {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.startsWith("x-oss-")) {
                ossHeaders.put(n, values.get(0).trim());
            }
        });
        StringBuilder resource = new StringBuilder("/" + bucket + "/" + key);
        TreeMap<String, String> subs = new TreeMap<>();
        for (String name : List.of("uploads", "uploadId", "partNumber", "acl", "append", "position")) {
            if (query.containsKey(name)) {
                subs.put(name, query.get(name));
            }
        }
        char sep = '?';
        for (var e : subs.entrySet()) {
            resource.append(sep).append(e.getKey());
            if (!e.getValue().isEmpty()) {
                resource.append('=').append(e.getValue());
            }
            sep = '&';
        }
        StringBuilder sts = new StringBuilder(method).append('\n')
                .append(nullToEmpty(ex.getRequestHeaders().getFirst("Content-MD5"))).append('\n')
                .append(nullToEmpty(ex.getRequestHeaders().getFirst("Content-Type"))).append('\n')
                .append(date).append('\n');
        ossHeaders.forEach((k, v) -> sts.append(k).append(':').append(v).append('\n'));
        sts.append(resource);
        String expected;
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            expected = "OSS " + accessKeyId + ":" + Base64.getEncoder().encodeToString(
                    mac.doFinal(sts.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        return expected.equals(auth) ? null : "string to sign here: " + sts.toString().replace("\n", "\\n");
    }

    private static Map<String, String> parseQuery(String raw) {
        Map<String, String> q = new TreeMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String p : raw.split("&")) {
            int eq = p.indexOf('=');
            q.put(URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8),
                    eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return q;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    static String etag(byte[] data) {
        return "\"" + HexFormat.of().withUpperCase().formatHex(digest("MD5", data)) + "\"";
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String error(String code, String message) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message
                + "</Message><RequestId>5C3D9175B6FC201293AD4890</RequestId></Error>";
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        if (body == null) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        }
    }

    List<String> uploadsLeft() {
        return new ArrayList<>(uploads.keySet());
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
