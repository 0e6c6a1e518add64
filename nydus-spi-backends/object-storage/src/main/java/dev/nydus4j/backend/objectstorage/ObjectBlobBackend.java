package dev.nydus4j.backend.objectstorage;

import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One object of an object store read with signed Range GETs; the size comes from a HEAD, asked once. Fills the
 * buffer or throws (BACKENDS.md 1.3); 3xx counts as an error (BACKENDS.md 12 C1). Thread-safe.
 */
public final class ObjectBlobBackend implements BlobBackend {
    /** Adds the signature headers of one request to {@code headers} (which may already hold {@code Range}). */
    public interface Signer {
        Map<String, String> sign(String method, URI uri, Map<String, String> headers);
    }

    private static final Pattern XML_CODE = Pattern.compile("<Code>([^<]{1,100})</Code>");
    private static final Pattern XML_MESSAGE = Pattern.compile("<Message>([^<]{1,300})</Message>");

    private final String type;
    private final String blobId;
    private final URI uri;
    private final String display;
    private final ObjectHttp http;
    private final Signer signer;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long size = -1;

    /**
     * @param type    backend type for messages
     * @param display where the object lives, for messages, e.g. {@code s3://bucket/key}
     * @param http    client closed with this backend
     */
    public ObjectBlobBackend(String type, String blobId, URI uri, String display, ObjectHttp http, Signer signer) {
        this.type = type;
        this.blobId = blobId;
        this.uri = uri;
        this.display = display;
        this.http = http;
        this.signer = signer;
    }

    @Override
    public String blobId() {
        return blobId;
    }

    @Override
    public long size() throws IOException {
        long s = size;
        if (s >= 0) {
            return s;
        }
        checkOpen();
        Map<String, String> headers = signer.sign("HEAD", uri, new java.util.TreeMap<>());
        s = execute("HEAD", "HEAD " + display, headers, response -> {
            check(response, "HEAD " + display);
            Header h = response.getFirstHeader("Content-Length");
            if (h == null) {
                throw new BackendException(type + " backend: HEAD " + display + " answered HTTP " + response.getCode()
                        + " without Content-Length", false, response.getCode(), null);
            }
            try {
                return Long.parseLong(h.getValue().trim());
            } catch (NumberFormatException e) {
                throw new BackendException(type + " backend: HEAD " + display + ": invalid Content-Length '"
                        + h.getValue() + "'", false, response.getCode(), e);
            }
        });
        size = s;
        return s;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        checkOpen();
        long total = size();
        if (position >= total) {
            return -1;
        }
        int len = dst.remaining();
        if (len == 0) {
            return 0;
        }
        String range = "bytes=" + position + "-" + (position + len - 1);
        Map<String, String> unsigned = new java.util.TreeMap<>();
        unsigned.put("range", range);
        Map<String, String> headers = signer.sign("GET", uri, unsigned);
        String what = "GET " + display + " " + range;
        int start = dst.position();
        try {
            return execute("GET", what, headers, response -> {
                check(response, what);
                int got = copy(response.getEntity(), dst, len, what, response.getCode());
                if (got != len) {
                    throw new BackendException(type + " backend: " + what + ": expected " + len + " bytes, got " + got,
                            true, response.getCode(), null);
                }
                return len;
            });
        } catch (IOException | RuntimeException e) {
            // a body cut short or stalled part-way (or a proxy fallback after one) must not leave partial bytes
            // counted in the caller's buffer
            dst.position(start);
            throw e;
        }
    }

    /**
     * Uploads {@code file} as this object with one signed PUT (up to the store's single-request limit, 5 GiB on
     * S3 and OSS; {@link MultipartUpload} sends bigger files in parts); nydusify uses it to push blobs. {@code headers} are signed with the request (the s3 signer takes the
     * payload hash from {@code x-amz-content-sha256} when given). Errors name the object and the server's code.
     */
    public void put(java.nio.file.Path file, Map<String, String> headers) throws IOException {
        checkOpen();
        Map<String, String> signed = signer.sign("PUT", uri, new java.util.TreeMap<>(headers));
        String what = "PUT " + display;
        var body = new org.apache.hc.core5.http.io.entity.FileEntity(file.toFile(), null);
        execute("PUT", what, signed, body, response -> {
            if (response.getCode() == 404) {
                String text = response.getEntity() == null ? "" : new String(response.getEntity().getContent()
                        .readNBytes(8192), StandardCharsets.UTF_8);
                throw new BackendException(type + " backend: " + what + ": HTTP 404" + detail(text)
                        + " (does the bucket exist?)", false, 404, null);
            }
            check(response, what);
            org.apache.hc.core5.http.io.entity.EntityUtils.consume(response.getEntity());
            return null;
        });
        size = -1;
    }

    /**
     * A reply to a sub-resource request of this object ({@link #call}).
     *
     * @param status  HTTP status (2xx)
     * @param headers first value of each response header, by lowercase name
     * @param body    the response body as text (at most {@value #MAX_REPLY_BYTES} bytes)
     */
    record Reply(int status, Map<String, String> headers, String body) {
    }

    static final int MAX_REPLY_BYTES = 1 << 20;

    /** Server error codes that mean the request body was damaged or cut on the way: sending it again may work. */
    private static final java.util.Set<String> RETRYABLE_400_CODES = java.util.Set.of("BadDigest", "InvalidDigest",
            "XAmzContentSHA256Mismatch", "IncompleteBody", "RequestTimeout");

    /**
     * Sends one signed request to this object with the query {@code query} (already encoded, e.g. {@code uploads}
     * or {@code partNumber=1&uploadId=...}); multipart uploads use it. {@code headers} (lowercase names) are signed
     * with the request. A status outside 2xx throws a {@link BackendException} naming {@code what}, the status and
     * the server's code and message; it is retryable for 5xx, 408, 429 and a damaged body (BadDigest and kin).
     */
    Reply call(String method, String query, Map<String, String> headers, HttpEntity body, String what)
            throws IOException {
        checkOpen();
        URI target = query.isEmpty() ? uri : URI.create(uri + "?" + query);
        Map<String, String> signed = signer.sign(method, target, new java.util.TreeMap<>(headers));
        try {
            return http.execute(method, target, signed, body, response -> {
                String text = "";
                HttpEntity entity = response.getEntity();
                if (entity != null) {
                    try (InputStream in = entity.getContent()) {
                        text = new String(in.readNBytes(MAX_REPLY_BYTES), StandardCharsets.UTF_8);
                    }
                }
                int status = response.getCode();
                if (status < 200 || status >= 300) {
                    Matcher code = XML_CODE.matcher(text);
                    boolean retryable = status >= 500 || status == 429 || status == 408
                            || (status == 400 && code.find() && RETRYABLE_400_CODES.contains(code.group(1)));
                    String kind = status == 403 ? " (check access_key_id/access_key_secret, region and bucket)"
                            : status >= 300 && status < 400 ? " (redirects are not followed by object-store backends)"
                            : "";
                    throw new BackendException(type + " backend: " + what + ": HTTP " + status + detail(text) + kind,
                            retryable, status, null);
                }
                Map<String, String> replyHeaders = new java.util.HashMap<>();
                for (Header h : response.getHeaders()) {
                    replyHeaders.putIfAbsent(h.getName().toLowerCase(java.util.Locale.ROOT), h.getValue());
                }
                return new Reply(status, Map.copyOf(replyHeaders), text);
            });
        } catch (BackendException e) {
            throw e;
        } catch (IOException e) {
            throw new BackendException(type + " backend: " + what + ": " + e.getClass().getSimpleName() + ": "
                    + e.getMessage(), true, 0, e);
        }
    }

    /** The server's {@code <Code>} and {@code <Message>} of an XML error body, as " Code: message" (or empty). */
    static String errorDetail(String body) {
        return detail(body);
    }

    /** Where the object lives, for messages ({@code s3://bucket/key}). */
    String display() {
        return display;
    }

    String type() {
        return type;
    }

    /** Forgets the size asked before (the object was just written). */
    void forgetSize() {
        size = -1;
    }

    /** Sends one request; transport failures (refused, reset, timed out) become retryable BackendExceptions. */
    private <T> T execute(String method, String what, Map<String, String> headers,
                          ObjectHttp.ResponseHandler<T> handler) throws IOException {
        return execute(method, what, headers, null, handler);
    }

    private <T> T execute(String method, String what, Map<String, String> headers, HttpEntity body,
                          ObjectHttp.ResponseHandler<T> handler) throws IOException {
        try {
            return http.execute(method, uri, headers, body, handler);
        } catch (BackendException | FileNotFoundException e) {
            throw e;
        } catch (IOException e) {
            throw new BackendException(type + " backend: " + what + ": " + e.getClass().getSimpleName() + ": "
                    + e.getMessage(), true, 0, e);
        }
    }

    private int copy(HttpEntity entity, ByteBuffer dst, int len, String what, int status) throws IOException {
        if (entity == null) {
            return 0;
        }
        int got = 0;
        byte[] tmp = dst.hasArray() ? null : new byte[Math.min(len, 65536)];
        try (InputStream in = entity.getContent()) {
            while (got < len) {
                int n;
                if (tmp == null) {
                    n = in.read(dst.array(), dst.arrayOffset() + dst.position(), len - got);
                    if (n > 0) {
                        dst.position(dst.position() + n);
                    }
                } else {
                    n = in.read(tmp, 0, Math.min(tmp.length, len - got));
                    if (n > 0) {
                        dst.put(tmp, 0, n);
                    }
                }
                if (n < 0) {
                    break;
                }
                got += n;
            }
            if (got == len && in.read() >= 0) {
                throw new BackendException(type + " backend: " + what + ": the response body is longer than the "
                        + len + " bytes asked for (server ignored Range?)", false, status, null);
            }
        }
        return got;
    }

    /** Status 200-299 passes; 404 is a missing blob; everything else an error with the server's code and message. */
    private void check(ClassicHttpResponse response, String what) throws IOException {
        int status = response.getCode();
        if (status >= 200 && status < 300) {
            return;
        }
        String body = "";
        HttpEntity entity = response.getEntity();
        if (entity != null) {
            try (InputStream in = entity.getContent()) {
                body = new String(in.readNBytes(8192), StandardCharsets.UTF_8);
            }
        }
        if (status == 404) {
            throw new FileNotFoundException(type + " backend: blob " + blobId + " not found at " + display
                    + " (HTTP 404" + detail(body) + ")");
        }
        String kind = status >= 300 && status < 400 ? " (redirects are not followed by object-store backends)"
                : status == 403 ? " (check access_key_id/access_key_secret, region and bucket)" : "";
        boolean retryable = status >= 500 || status == 429 || status == 408;
        throw new BackendException(type + " backend: " + what + ": HTTP " + status + detail(body) + kind, retryable,
                status, null);
    }

    private static String detail(String body) {
        Matcher code = XML_CODE.matcher(body);
        Matcher message = XML_MESSAGE.matcher(body);
        StringBuilder sb = new StringBuilder();
        if (code.find()) {
            sb.append(' ').append(code.group(1));
        }
        if (message.find()) {
            sb.append(": ").append(message.group(1));
        }
        return sb.toString();
    }

    private void checkOpen() throws IOException {
        if (closed.get()) {
            throw new IOException(type + " backend: blob " + blobId + " is closed");
        }
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            http.close();
        }
    }

    @Override
    public String toString() {
        return type + "[" + display + "]";
    }
}
