package dev.nydus4j.backend.registry;

import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An open HTTP response. The owner must close it (returning or discarding the connection). Body reads are
 * bounded and respect the whole-request deadline. Not thread-safe.
 */
final class RegistryResponse implements AutoCloseable {
    /** Error bodies are only quoted in messages; more than this is never read. */
    private static final int ERROR_TEXT_LIMIT = 512;

    private final ClassicHttpResponse response;
    private final HttpUriRequestBase request;
    private final URI uri;
    private final long deadlineNanos;
    private final int timeoutSecs;
    private boolean bodyDone;

    RegistryResponse(ClassicHttpResponse response, HttpUriRequestBase request, URI uri, long deadlineNanos,
                     int timeoutSecs) {
        this.response = response;
        this.request = request;
        this.bodyDone = response.getEntity() == null || contentLength() == 0;
        this.uri = uri;
        this.deadlineNanos = deadlineNanos;
        this.timeoutSecs = timeoutSecs;
    }

    int status() {
        return response.getCode();
    }

    /** The URL this response came from (after routing: the proxy's origin URL, a mirror URL, ...). */
    URI uri() {
        return uri;
    }

    /** First value of a header, or null. */
    String header(String name) {
        Header h = response.getFirstHeader(name);
        return h == null ? null : h.getValue();
    }

    /** Declared body length, or -1 when unknown. */
    long contentLength() {
        HttpEntity e = response.getEntity();
        if (e != null && e.getContentLength() >= 0) {
            return e.getContentLength();
        }
        String v = header("Content-Length");
        try {
            return v == null ? -1 : Long.parseLong(v.trim());
        } catch (NumberFormatException ex) {
            return -1;
        }
    }

    /** The raw body stream, or an empty stream. Closing the response closes it. */
    InputStream body() throws IOException {
        HttpEntity e = response.getEntity();
        return e == null ? InputStream.nullInputStream() : e.getContent();
    }

    /**
     * Reads the body into {@code dst} until it is full or the body ends.
     *
     * @return bytes read; the caller compares with what it asked for
     */
    int readInto(ByteBuffer dst) throws IOException {
        InputStream in = body();
        byte[] buf = new byte[64 * 1024];
        int total = 0;
        while (dst.hasRemaining()) {
            checkDeadline();
            int n = in.read(buf, 0, Math.min(buf.length, dst.remaining()));
            if (n < 0) {
                bodyDone = true;
                break;
            }
            dst.put(buf, 0, n);
            total += n;
        }
        return total;
    }

    /** Whether more body bytes follow (consumes at most one byte). */
    boolean hasMoreBody() throws IOException {
        boolean more = body().read() >= 0;
        bodyDone = !more;
        return more;
    }

    /** Reads the whole body, failing when it is larger than {@code limit} bytes. */
    byte[] readBody(int limit) throws IOException {
        long declared = contentLength();
        if (declared > limit) {
            throw new IOException("response from " + uri + " declares " + declared + " bytes, more than the limit of "
                    + limit);
        }
        InputStream in = body();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        while (true) {
            checkDeadline();
            int n = in.read(buf);
            if (n < 0) {
                bodyDone = true;
                return out.toByteArray();
            }
            if (out.size() + n > limit) {
                throw new IOException("response from " + uri + " is larger than the limit of " + limit + " bytes");
            }
            out.write(buf, 0, n);
        }
    }

    /** Up to 512 characters of the body on one line, for error messages; never fails. */
    String errorText() {
        try {
            byte[] b = body().readNBytes(ERROR_TEXT_LIMIT);
            String s = new String(b, StandardCharsets.UTF_8).replaceAll("\\s+", " ").trim();
            return s.isEmpty() ? "" : ": " + s;
        } catch (IOException e) {
            return "";
        }
    }

    private void checkDeadline() throws SocketTimeoutException {
        if (deadlineNanos != 0 && System.nanoTime() - deadlineNanos > 0) {
            throw new SocketTimeoutException("request timeout of " + timeoutSecs + " s exceeded");
        }
    }

    /**
     * Releases the connection. A body that was not read to its end is abandoned by aborting the request: draining
     * it (what closing alone does) could mean downloading a whole blob, and registries do send bodies that
     * disagree with their Content-Length on errors (416 from docker-registry 2.8).
     */
    @Override
    public void close() throws IOException {
        if (!bodyDone) {
            request.cancel();
        }
        try {
            response.close();
        } catch (IOException e) {
            if (bodyDone) {
                throw e;
            }
            // the aborted connection is discarded, which is all closing has to achieve here
        }
    }
}
