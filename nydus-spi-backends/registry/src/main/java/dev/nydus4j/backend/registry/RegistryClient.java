package dev.nydus4j.backend.registry;

import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.AbstractHttpEntity;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.FileEntity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OCI distribution client for one registry host (what nydusify pulls and pushes with): manifests, blobs,
 * monolithic, chunked and streamed uploads, cross-repository mounts. Shares {@link RegistryTransport} (auth, TLS,
 * plain http, timeouts) with the blob backend. Thread-safe; the caller closes it.
 */
public final class RegistryClient implements AutoCloseable {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    /** Blobs larger than this are pushed with chunked PATCH uploads by {@link #pushBlob(String, String, Path)}. */
    public static final long MONOLITHIC_LIMIT_BYTES = 256L << 20;
    public static final int DEFAULT_CHUNK_BYTES = 32 << 20;
    private static final int MANIFEST_LIMIT_BYTES = 4 << 20;
    private static final int MAX_REDIRECTS = 5;
    private static final String ACCEPT = String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST,
            DOCKER_MANIFEST_LIST);
    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern RANGE = Pattern.compile("(?:bytes=)?0-(\\d+)");
    private static final Logger LOG = LoggerFactory.getLogger(RegistryClient.class);
    private static final int STREAM_COPY_BYTES = 256 << 10;

    private final RegistryTransport transport;
    /** The registry refused a streamed PATCH once: later uploads of this client go chunked at once. */
    private volatile boolean streamRefused;
    private final AtomicBoolean streamRefusalLogged = new AtomicBoolean();

    private RegistryClient(RegistryTransport transport) {
        this.transport = transport;
    }

    /**
     * Opens a client for {@code config.host()} ({@code repo} is ignored; every call names its repository). Without
     * {@code auth} or {@code registry_token}, credentials come from {@code $DOCKER_CONFIG/config.json} or
     * {@code ~/.docker/config.json}. {@code scheme: "http"} is a plain-http (insecure) registry.
     */
    public static RegistryClient open(RegistryConfig config) throws IOException {
        return open(config, System.getenv());
    }

    /** As {@link #open(RegistryConfig)} with another environment (docker config location, NYDUS_HEADER_*). */
    public static RegistryClient open(RegistryConfig config, Map<String, String> env) throws IOException {
        return open(config, env, false);
    }

    /**
     * As {@link #open(RegistryConfig, Map)}; with {@code plainHttpFallback} the client also switches to plain http
     * (for good) when the registry answers the TLS handshake with plain http or refuses the https connection, as
     * upstream nydusify and containerd's resolver do for {@code localhost:5000}-style registries, even without
     * {@code skip_verify}. Certificate errors never switch.
     */
    public static RegistryClient open(RegistryConfig config, Map<String, String> env, boolean plainHttpFallback)
            throws IOException {
        Objects.requireNonNull(config, "config is null");
        if (config.host().isEmpty()) {
            throw new IllegalArgumentException("registry client needs a host");
        }
        RegistryConfig effective = config;
        if (config.auth().isEmpty() && config.registryToken().isEmpty()) {
            effective = DockerConfigAuth.lookup(config.host(), env).map(config::withAuth).orElse(config);
        }
        return new RegistryClient(new RegistryTransport(effective, env, plainHttpFallback));
    }

    /** The scheme requests use now: https, or http after a fallback (or for a plain-http config). */
    public String scheme() {
        return transport.scheme();
    }

    /** Registry host this client talks to. */
    public String host() {
        return transport.host();
    }

    /** Fetches a manifest or index by tag or digest (a digest reference is verified against the bytes). */
    public RegistryManifest getManifest(String repo, String reference) throws IOException {
        String path = "/v2/" + repo + "/manifests/" + reference;
        try (RegistryResponse r = transport.send(RegistryRequest.onRegistry("GET", path).header("Accept", ACCEPT))) {
            check(r, "GET manifest " + repo + ":" + reference, 200);
            byte[] bytes = r.readBody(MANIFEST_LIMIT_BYTES);
            String digest = sha256(bytes);
            if (reference.startsWith("sha256:") && !reference.equals(digest)) {
                throw new IOException("manifest " + repo + "@" + reference + " from " + host() + " has digest "
                        + digest);
            }
            String type = r.header("Content-Type");
            type = type == null ? "" : type.split(";", 2)[0].trim();
            return new RegistryManifest(bytes, type, digest);
        }
    }

    /** Fetches the manifest an image reference names (its host must be this client's). */
    public RegistryManifest getManifest(ImageReference ref) throws IOException {
        if (!ref.host().equals(host())) {
            throw new IllegalArgumentException("reference " + ref + " is not on " + host());
        }
        return getManifest(ref.repository(), ref.manifestReference());
    }

    /** Size of a blob, or empty when the registry does not have it. */
    public OptionalLong headBlob(String repo, String digest) throws IOException {
        requireDigest(digest);
        RegistryResponse r = transport.send(RegistryRequest.onRegistry("HEAD", blobPath(repo, digest)));
        try {
            for (int i = 0; i < MAX_REDIRECTS && r.status() >= 300 && r.status() < 400; i++) {
                URI target = transport.redirectTarget(r.uri(), r.header("Location"));
                r.close();
                r = transport.send(RegistryRequest.absolute("HEAD", target).anonymous());
            }
            if (r.status() == 404) {
                return OptionalLong.empty();
            }
            check(r, "HEAD blob " + repo + "@" + digest, 200);
            return OptionalLong.of(r.contentLength());
        } finally {
            r.close();
        }
    }

    /** Opens a blob as a stream (redirects followed without credentials); the caller closes it. */
    public InputStream getBlob(String repo, String digest) throws IOException {
        requireDigest(digest);
        RegistryResponse r = transport.send(RegistryRequest.onRegistry("GET", blobPath(repo, digest)));
        try {
            for (int i = 0; i < MAX_REDIRECTS && r.status() >= 300 && r.status() < 400; i++) {
                URI target = transport.redirectTarget(r.uri(), r.header("Location"));
                r.close();
                r = transport.send(RegistryRequest.absolute("GET", target).anonymous());
            }
            check(r, "GET blob " + repo + "@" + digest, 200);
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
        RegistryResponse owned = r;
        return new FilterInputStream(owned.body()) {
            @Override
            public void close() throws IOException {
                owned.close();
            }
        };
    }

    /** Pushes bytes as a blob with one monolithic upload; returns its digest. Skips blobs already present. */
    public String pushBlob(String repo, byte[] data) throws IOException {
        String digest = sha256(data);
        if (headBlob(repo, digest).isEmpty()) {
            URI upload = startUpload(repo);
            finishUpload(upload, digest, new ByteArrayEntity(data, ContentType.APPLICATION_OCTET_STREAM), repo);
        }
        return digest;
    }

    /**
     * Pushes a file as blob {@code digest} (the caller computed it): monolithic up to
     * {@link #MONOLITHIC_LIMIT_BYTES}, chunked above. Skips blobs already present.
     *
     * @return true when uploaded, false when the registry already had it
     */
    public boolean pushBlob(String repo, String digest, Path file) throws IOException {
        requireDigest(digest);
        if (headBlob(repo, digest).isPresent()) {
            return false;
        }
        if (Files.size(file) > MONOLITHIC_LIMIT_BYTES) {
            pushBlobChunked(repo, digest, file, DEFAULT_CHUNK_BYTES);
        } else {
            URI upload = startUpload(repo);
            finishUpload(upload, digest, new FileEntity(file.toFile(), ContentType.APPLICATION_OCTET_STREAM), repo);
        }
        return true;
    }

    /** Pushes a file with a chunked upload: POST, one PATCH per {@code chunkBytes}, then PUT ?digest=. */
    public void pushBlobChunked(String repo, String digest, Path file, int chunkBytes) throws IOException {
        requireDigest(digest);
        if (chunkBytes <= 0) {
            throw new IllegalArgumentException("chunkBytes must be > 0, got " + chunkBytes);
        }
        URI upload = startUpload(repo);
        long offset = 0;
        byte[] chunk = new byte[chunkBytes];
        try (InputStream in = Files.newInputStream(file)) {
            while (true) {
                int n = in.readNBytes(chunk, 0, chunkBytes);
                if (n == 0) {
                    break;
                }
                RegistryRequest patch = RegistryRequest.absolute("PATCH", upload)
                        .header("Content-Range", offset + "-" + (offset + n - 1))
                        .body(new ByteArrayEntity(chunk, 0, n, ContentType.APPLICATION_OCTET_STREAM));
                try (RegistryResponse r = transport.send(patch)) {
                    check(r, "PATCH upload chunk " + offset + "-" + (offset + n - 1) + " of " + repo + "@" + digest,
                            202);
                    upload = location(r, upload);
                }
                offset += n;
            }
        }
        finishUpload(upload, digest, null, repo);
    }

    /**
     * Starts an upload to {@code repo} that is fed while the data is still being produced and completed once its
     * digest is known (nydusify streams a blob to the registry while the builder writes it). Not thread-safe.
     */
    public ChunkedUpload startChunkedUpload(String repo) throws IOException {
        return new ChunkedUpload(repo, startUpload(repo));
    }

    /**
     * An open upload: either one streamed PATCH ({@link #writeStream}) or chunks ({@link #write}, one PATCH each),
     * then {@link #finish} sends the PUT; closing unfinished cancels.
     */
    public final class ChunkedUpload implements AutoCloseable {
        private final String repo;
        private URI upload;
        private long offset;
        private boolean done;

        private ChunkedUpload(String repo, URI upload) {
            this.repo = repo;
            this.upload = upload;
        }

        /** Bytes sent so far. */
        public long size() {
            return offset;
        }

        /** Sends {@code len} bytes as the next chunk. */
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;
            }
            RegistryRequest patch = RegistryRequest.absolute("PATCH", upload)
                    .header("Content-Range", offset + "-" + (offset + len - 1))
                    .body(new ByteArrayEntity(b, off, len, ContentType.APPLICATION_OCTET_STREAM));
            try (RegistryResponse r = transport.send(patch)) {
                check(r, "PATCH upload chunk " + offset + "-" + (offset + len - 1) + " of " + repo, 202);
                upload = location(r, upload);
            }
            offset += len;
        }

        /**
         * Sends everything {@code in} gives until its end as the whole upload, in one PATCH without Content-Range
         * (chunked transfer encoding: the distribution API's "stream upload"), so that the registry keeps one hash
         * state instead of saving and restoring it for every chunk. Only as the first write. Memory use is one
         * copy buffer.
         *
         * @return true when the registry took all of it; false when it refused a streamed PATCH (a 4xx or 501, or a
         *     202 whose Range does not cover what was sent): the refused session is cancelled and this upload
         *     continues in a fresh session at offset 0, to be fed with {@link #write}. After one refusal this
         *     client does not try again and returns false without sending.
         * @throws IOException when {@code in} or the connection fails, or the registry answers 5xx; the caller
         *     closes the upload (cancelling it)
         */
        public boolean writeStream(InputStream in) throws IOException {
            if (offset != 0) {
                throw new IllegalStateException("a streamed PATCH must be the first write of an upload; "
                        + offset + " bytes were already sent to " + repo);
            }
            if (streamRefused) {
                return false;
            }
            StreamEntity body = new StreamEntity(in);
            RegistryRequest patch = RegistryRequest.absolute("PATCH", upload).streamBody(body);
            String refusal;
            try (RegistryResponse r = transport.send(patch)) {
                int status = r.status();
                if (status == 202) {
                    String range = r.header("Range");
                    Matcher m = range == null ? null : RANGE.matcher(range.trim());
                    if (m != null && m.matches() && Long.parseLong(m.group(1)) == body.sent - 1) {
                        upload = location(r, upload);
                        offset = body.sent;
                        return true;
                    }
                    refusal = "HTTP 202 with Range '" + range + "' after " + body.sent + " bytes";
                    // the session moved on: only its new state (Location) can cancel it
                    upload = location(r, upload);
                } else if (status >= 400 && status < 500 || status == 501) {
                    refusal = "HTTP " + status + r.errorText();
                } else {
                    throw statusError(r, "streamed PATCH upload of " + repo + " (" + body.sent + " bytes sent)",
                            202);
                }
            }
            if (refusal.startsWith("HTTP 401")) {
                // the token expired while the stream went up: the chunked flow answers the challenge and resends
                LOG.debug("streamed blob upload to {} drew a 401; uploading in chunks", repo);
            } else {
                streamRefused = true;
                if (streamRefusalLogged.compareAndSet(false, true)) {
                    LOG.warn("registry {} refused a streamed blob upload to {} ({}); uploading in chunks with"
                            + " Content-Range from now on", host(), repo, refusal);
                } else {
                    LOG.debug("registry {} refused a streamed blob upload to {} ({})", host(), repo, refusal);
                }
            }
            cancel(upload);
            upload = startUpload(repo);
            return false;
        }

        /** Completes the upload as blob {@code digest}; the registry checks the digest against what it got. */
        public void finish(String digest) throws IOException {
            requireDigest(digest);
            done = true;
            finishUpload(upload, digest, null, repo);
        }

        /** Cancels the upload when it was not finished (best effort). */
        @Override
        public void close() {
            if (done) {
                return;
            }
            done = true;
            cancel(upload);
        }
    }

    /** DELETE of an upload session (best effort: the registry expires abandoned uploads itself). */
    private void cancel(URI upload) {
        try (RegistryResponse d = transport.send(RegistryRequest.absolute("DELETE", upload))) {
            d.status();
        } catch (IOException e) {
            LOG.debug("cancelling upload {} failed: {}", upload.getPath(), e.getMessage());
        }
    }

    /** A one-shot request body of unknown length (sent chunked) read from a stream; counts what it sent. */
    private static final class StreamEntity extends AbstractHttpEntity {
        private final InputStream in;
        private long sent;
        private boolean used;

        StreamEntity(InputStream in) {
            super(ContentType.APPLICATION_OCTET_STREAM, null, true);
            this.in = Objects.requireNonNull(in, "in is null");
        }

        @Override
        public long getContentLength() {
            return -1;
        }

        @Override
        public boolean isRepeatable() {
            return false;
        }

        @Override
        public boolean isStreaming() {
            return !used;
        }

        @Override
        public InputStream getContent() {
            throw new UnsupportedOperationException("a streamed upload body is only written");
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            if (used) {
                throw new IOException("a streamed upload body cannot be sent twice");
            }
            used = true;
            byte[] buf = new byte[STREAM_COPY_BYTES];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n > 0) {
                    out.write(buf, 0, n);
                    sent += n;
                }
            }
            out.flush();
        }

        @Override
        public void close() {
            // the caller owns the stream
        }
    }

    /**
     * Mounts blob {@code digest} from {@code fromRepo} of the same registry into {@code repo} without transferring
     * it. Returns false when the registry declined (the caller then uploads it).
     */
    public boolean mountBlob(String repo, String digest, String fromRepo) throws IOException {
        requireDigest(digest);
        String path = "/v2/" + repo + "/blobs/uploads/?mount=" + enc(digest) + "&from=" + enc(fromRepo);
        try (RegistryResponse r = transport.send(RegistryRequest.onRegistry("POST", path))) {
            if (r.status() == 201) {
                return true;
            }
            check(r, "POST mount " + repo + "@" + digest + " from " + fromRepo, 202);
            // the registry opened a normal upload instead; cancel it so it does not linger
            URI upload = location(r, r.uri());
            try (RegistryResponse d = transport.send(RegistryRequest.absolute("DELETE", upload))) {
                d.status();
            }
            return false;
        }
    }

    /** Pushes a manifest or index under a tag or digest; returns the digest of {@code body}. */
    public String pushManifest(String repo, String reference, String mediaType, byte[] body) throws IOException {
        String digest = sha256(body);
        RegistryRequest put = RegistryRequest.onRegistry("PUT", "/v2/" + repo + "/manifests/" + reference)
                .body(new ByteArrayEntity(body, ContentType.parse(mediaType)));
        try (RegistryResponse r = transport.send(put)) {
            check(r, "PUT manifest " + repo + ":" + reference, 201);
        }
        return digest;
    }

    private URI startUpload(String repo) throws IOException {
        try (RegistryResponse r = transport.send(RegistryRequest.onRegistry("POST", "/v2/" + repo + "/blobs/uploads/"))) {
            check(r, "POST upload to " + repo, 202);
            return location(r, r.uri());
        }
    }

    private void finishUpload(URI upload, String digest, HttpEntity body, String repo) throws IOException {
        String sep = upload.getRawQuery() == null ? "?" : "&";
        RegistryRequest put = RegistryRequest.absolute("PUT", URI.create(upload + sep + "digest=" + enc(digest)));
        if (body != null) {
            put.body(body);
        }
        try (RegistryResponse r = transport.send(put)) {
            check(r, "PUT upload of " + repo + "@" + digest, 201);
        }
    }

    private static URI location(RegistryResponse r, URI base) throws IOException {
        String loc = r.header("Location");
        if (loc == null || loc.isBlank()) {
            throw new IOException("registry answered HTTP " + r.status() + " to " + r.uri().getPath()
                    + " without a Location header");
        }
        try {
            return base.resolve(new URI(loc.trim()));
        } catch (URISyntaxException e) {
            throw new IOException("registry sent an invalid upload Location: " + e.getReason(), e);
        }
    }

    private void check(RegistryResponse r, String what, int expected) throws RegistryStatusException {
        if (r.status() != expected) {
            throw statusError(r, what, expected);
        }
    }

    private RegistryStatusException statusError(RegistryResponse r, String what, int expected) {
        int status = r.status();
        String hint = status == 401 ? (transport.hasCredentials() ? " (credentials rejected)" : " (no credentials)")
                : "";
        return new RegistryStatusException("registry " + transport.scheme() + "://" + host() + ": " + what
                + ": HTTP " + status + hint + " (expected " + expected + ")" + r.errorText(), status);
    }

    private static String blobPath(String repo, String digest) {
        return "/v2/" + repo + "/blobs/" + digest;
    }

    private static void requireDigest(String digest) {
        if (!DIGEST.matcher(digest).matches()) {
            throw new IllegalArgumentException("expected a digest sha256:<64 lowercase hex>, got '" + digest + "'");
        }
    }

    /** {@code sha256:<hex>} of the bytes. */
    public static String sha256(byte[] data) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        transport.close();
    }
}
