package dev.nydus4j.backend.registry;

import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import dev.nydus4j.spi.BlobBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLHandshakeException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One blob of a registry (BACKENDS.md 2): Range GETs that must answer 206 with exactly the requested bytes,
 * manual redirects with a location cache, {@code retry_limit} extra attempts with back-off 500 ms * 2^n on
 * retryable failures. Thread-safe; {@link #close()} is idempotent and releases the shared connection.
 */
final class RegistryBlobBackend implements BlobBackend {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryBlobBackend.class);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(?:(\\d+)-(\\d+)|\\*)/(\\d+|\\*)");
    private static final long BACKOFF_BASE_MILLIS = 500;

    private final RegistryConnection connection;
    private final RegistryTransport transport;
    private final String blobId;
    private final String blobPath;
    private final BackendContext context;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long size = -1;

    RegistryBlobBackend(RegistryConnection connection, String blobId, BackendContext context) {
        this(connection, blobId, "/v2/" + connection.repo + "/blobs/sha256:" + blobId, context);
    }

    /** A blob at {@code blobPath} on the connection's host (a plain HTTP blob server rather than a registry). */
    RegistryBlobBackend(RegistryConnection connection, String blobId, String blobPath, BackendContext context) {
        this.connection = connection;
        this.transport = connection.transport;
        this.blobId = blobId;
        this.blobPath = blobPath;
        this.context = context;
    }

    @Override
    public String blobId() {
        return blobId;
    }

    @Override
    public long size() throws IOException {
        long known = size;
        if (known >= 0) {
            return known;
        }
        String where = where("HEAD");
        try {
            RegistryRequest req = RegistryRequest.onRegistry("HEAD", blobPath).viaBlobRoute();
            RegistryResponse r = transport.send(req);
            try {
                if (r.status() >= 300 && r.status() < 400) {
                    URI target = transport.redirectTarget(r.uri(), r.header("Location"));
                    r.close();
                    r = transport.send(RegistryRequest.absolute("HEAD", target).anonymous().viaBlobRoute());
                }
                if (r.status() == 404) {
                    throw new FileNotFoundException(where + ": blob not found (HTTP 404)");
                }
                if (r.status() >= 300) {
                    throw statusError(where, r);
                }
                long len = r.contentLength();
                if (len < 0) {
                    throw new BackendException(where + ": HTTP " + r.status() + " without Content-Length", false,
                            r.status(), null);
                }
                size = len;
                return len;
            } finally {
                r.close();
            }
        } catch (BackendException | FileNotFoundException e) {
            throw e;
        } catch (IOException e) {
            throw transportError(where, e);
        }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position + " in blob " + blobId);
        }
        if (closed.get()) {
            throw new IOException("registry blob " + blobId + " is closed");
        }
        int len = dst.remaining();
        if (len == 0) {
            return 0;
        }
        int attempts = 1 + transport.config().retryLimit();
        // the pauses between attempts never add up to more than the request timeout: with the registry gone, a
        // read fails within about `timeout` (plus the attempts themselves) instead of after the whole back-off
        long pauseBudget = TimeUnit.SECONDS.toMillis(transport.config().timeoutSecs());
        long paused = 0;
        int start = dst.position();
        for (int attempt = 0; ; attempt++) {
            long t0 = System.nanoTime();
            try {
                int n = readOnce(dst, position, len);
                if (n > 0) {
                    context.metrics().readCompleted(n, System.nanoTime() - t0);
                }
                return n;
            } catch (BackendException e) {
                dst.position(start);
                context.metrics().readFailed();
                long backoff = BACKOFF_BASE_MILLIS << Math.min(attempt, 10);
                boolean overBudget = pauseBudget > 0 && paused + backoff > pauseBudget;
                if (!e.isRetryable() || attempt + 1 >= attempts || overBudget) {
                    if (attempt > 0 || overBudget) {
                        throw new BackendException(e.getMessage() + " (after " + (attempt + 1) + " attempts"
                                + (overBudget && attempt + 1 < attempts ? "; another retry would pass the "
                                + transport.config().timeoutSecs() + " s timeout" : "") + ")",
                                e.isRetryable(), e.httpStatus(), e);
                    }
                    throw e;
                }
                paused += backoff;
                LOG.debug("retrying in {} ms: {}", backoff, e.getMessage());
                try {
                    TimeUnit.MILLISECONDS.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    InterruptedIOException iio = new InterruptedIOException("interrupted while retrying " + e.getMessage());
                    iio.initCause(e);
                    throw iio;
                }
            }
        }
    }

    private int readOnce(ByteBuffer dst, long position, int len) throws IOException {
        String range = "bytes=" + position + "-" + (position + len - 1);
        String where = where(range);
        try {
            URI cached = connection.redirectFor(blobId);
            if (cached != null) {
                try (RegistryResponse r = transport.send(rangeRequest(RegistryRequest.absolute("GET", cached)
                        .anonymous(), range))) {
                    if (r.status() < 400) {
                        return consume(r, dst, position, len, where + " via cached redirect");
                    }
                    // expired pre-signed URLs answer 401/403: forget it and go through the registry once more
                    LOG.debug("{}: cached redirect answered HTTP {}; asking the registry again", where, r.status());
                    connection.forgetRedirect(blobId, cached);
                }
            }
            try (RegistryResponse r = transport.send(rangeRequest(RegistryRequest.onRegistry("GET", blobPath), range))) {
                if (r.status() < 300 || r.status() >= 400) {
                    return consume(r, dst, position, len, where);
                }
                URI target = transport.redirectTarget(r.uri(), r.header("Location"));
                try (RegistryResponse redirected = transport.send(rangeRequest(RegistryRequest.absolute("GET", target)
                        .anonymous(), range))) {
                    int n = consume(redirected, dst, position, len, where + " redirected to " + target.getHost());
                    connection.rememberRedirect(blobId, target);
                    return n;
                }
            }
        } catch (BackendException e) {
            throw e;
        } catch (IOException e) {
            throw transportError(where, e);
        }
    }

    private static RegistryRequest rangeRequest(RegistryRequest req, String range) {
        return req.header("Range", range).viaBlobRoute();
    }

    private int consume(RegistryResponse r, ByteBuffer dst, long position, int len, String where) throws IOException {
        int status = r.status();
        Matcher cr = r.header("Content-Range") == null ? null : CONTENT_RANGE.matcher(r.header("Content-Range").trim());
        long total = cr != null && cr.matches() && !"*".equals(cr.group(3)) ? Long.parseLong(cr.group(3)) : -1;
        if (status == 416) {
            if (total >= 0 && position >= total) {
                return -1;
            }
            throw new BackendException(where + ": range not satisfiable (HTTP 416"
                    + (total >= 0 ? ", blob size " + total : "") + ")", false, 416, null);
        }
        if (status >= 300) {
            throw statusError(where, r);
        }
        if (status == 206) {
            if (cr != null && cr.matches() && cr.group(1) != null) {
                long first = Long.parseLong(cr.group(1));
                long last = Long.parseLong(cr.group(2));
                if (first != position) {
                    throw new BackendException(where + ": server answered Content-Range " + r.header("Content-Range"),
                            false, status, null);
                }
                if (last < position + len - 1 && total >= 0 && last + 1 >= total) {
                    throw new BackendException(where + ": range extends past the end of the blob (size " + total
                            + ")", false, status, null);
                }
            }
        } else if (status == 200) {
            long declared = r.contentLength();
            if (position != 0 || (declared >= 0 && declared != len)) {
                throw new BackendException(where + ": server ignored Range and answered 200 with "
                        + (declared >= 0 ? declared + " bytes" : "the whole blob") + "; it must answer 206", false,
                        status, null);
            }
        } else {
            throw new BackendException(where + ": unexpected HTTP " + status + " (expected 206)", false, status, null);
        }
        int n = r.readInto(dst);
        if (n < len) {
            throw new BackendException(where + ": short body, expected " + len + " bytes, got " + n, true, status,
                    null);
        }
        if (r.hasMoreBody()) {
            throw new BackendException(where + ": body longer than the " + len + " bytes requested", false, status,
                    null);
        }
        return n;
    }

    private BackendException statusError(String where, RegistryResponse r) {
        int status = r.status();
        boolean retryable = status >= 500 || status == 429 || status == 408;
        String hint = switch (status) {
            case 401 -> transport.hasCredentials() ? " (credentials rejected: check 'auth')"
                    : " (no credentials: set 'auth' or a docker config)";
            case 403 -> " (access denied)";
            case 404 -> " (blob or repository not found)";
            default -> "";
        };
        if (status >= 300 && status < 400) {
            hint = " (redirect without a usable Location)";
        }
        return new BackendException(where + ": HTTP " + status + hint + r.errorText(), retryable, status, null);
    }

    private BackendException transportError(String where, IOException e) {
        if (e instanceof SocketTimeoutException || e.getCause() instanceof SocketTimeoutException
                || String.valueOf(e.getMessage()).contains("timed out")) {
            return new BackendException(where + ": timed out (timeout " + transport.config().timeoutSecs()
                    + " s, connect_timeout " + transport.config().connectTimeoutSecs() + " s): " + e.getMessage(),
                    true, 0, e);
        }
        boolean tls = RegistryTransport.hasCause(e, SSLHandshakeException.class);
        String what = e instanceof RegistryTransport.SSLHandshakeExceptionWithHint ? e.getMessage()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
        return new BackendException(where + ": " + what, !tls, 0, e);
    }

    private String where(String range) {
        if (connection.repo.isEmpty()) {
            return "blob " + blobId + " at " + transport.scheme() + "://" + transport.host() + blobPath + " " + range;
        }
        return "registry " + transport.scheme() + "://" + transport.host() + " repo " + connection.repo + " blob "
                + blobId + " " + range;
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            connection.release();
        }
    }

    @Override
    public String toString() {
        return connection.repo.isEmpty() ? "http:" + transport.host() + blobPath
                : "registry:" + transport.host() + "/" + connection.repo + "@sha256:" + blobId;
    }
}
