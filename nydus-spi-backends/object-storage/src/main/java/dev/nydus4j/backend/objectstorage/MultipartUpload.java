package dev.nydus4j.backend.objectstorage;

import dev.nydus4j.spi.BackendException;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Uploads a file as one object in parts, with the multipart API S3 and OSS share: {@code POST ?uploads}
 * (CreateMultipartUpload / InitiateMultipartUpload), {@code PUT ?partNumber=N&uploadId=ID} (UploadPart),
 * {@code POST ?uploadId=ID} with the part list (CompleteMultipartUpload) and, on failure,
 * {@code DELETE ?uploadId=ID} (AbortMultipartUpload). Parts are read from the file as they are sent (64 KiB
 * buffers, never a whole part in memory), a bounded number at a time; each request is retried a few times when the
 * failure may pass (transport error, 5xx, 408, 429, damaged body). When a part finally fails the upload is aborted,
 * so no object and no stored parts remain, and the error names the object, the part, the status and the server's
 * message. Each part carries its digest ({@link PayloadDigest}), so the store rejects a part damaged on the way.
 * After completing, a HEAD checks the object's size.
 */
public final class MultipartUpload {
    /** S3's smallest part except the last (OSS: 100 KiB). */
    public static final long MIN_PART_SIZE = 5L << 20;
    /** S3's and OSS's largest part. */
    public static final long MAX_PART_SIZE = 5L << 30;
    /** S3's and OSS's most parts of one upload. */
    public static final int MAX_PARTS = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(MultipartUpload.class);
    private static final Pattern UPLOAD_ID = Pattern.compile("<UploadId>([^<]{1,1024})</UploadId>");
    private static final Pattern ERROR = Pattern.compile("<Error>");
    private static final Pattern ERROR_CODE = Pattern.compile("<Code>([^<]{1,100})</Code>");
    private static final java.util.Set<String> RETRYABLE_COMPLETE_CODES =
            java.util.Set.of("InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout");
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();

    /** How each part proves its bytes to the store. */
    public enum PayloadDigest {
        /** {@code x-amz-content-sha256}: hex SHA-256, part of the SigV4 signature (s3). */
        SHA256,
        /** {@code Content-MD5}: base64 MD5, part of the OSS V1 signature (oss). */
        MD5
    }

    /**
     * @param partSize    bytes per part (the last may be shorter)
     * @param parallelism parts in flight at once, 1..16
     * @param attempts    tries of each request, 1..10
     * @param backoff     pause before the second try, doubled for each further one (at most 8 s)
     * @param digest      how parts carry their digest
     */
    public record Options(long partSize, int parallelism, int attempts, Duration backoff, PayloadDigest digest) {
        public Options {
            if (partSize <= 0 || partSize > MAX_PART_SIZE) {
                throw new IllegalArgumentException("part size " + partSize + " is outside 1.." + MAX_PART_SIZE);
            }
            if (parallelism < 1 || parallelism > 16) {
                throw new IllegalArgumentException("upload parallelism " + parallelism + " is outside 1..16");
            }
            if (attempts < 1 || attempts > 10) {
                throw new IllegalArgumentException("upload attempts " + attempts + " is outside 1..10");
            }
            java.util.Objects.requireNonNull(backoff, "backoff is null");
            java.util.Objects.requireNonNull(digest, "digest is null");
        }
    }

    private final ObjectBlobBackend object;
    private final Path file;
    private final Options options;
    private final long size;
    private final int parts;

    private MultipartUpload(ObjectBlobBackend object, Path file, Options options, long size) {
        this.object = object;
        this.file = file;
        this.options = options;
        this.size = size;
        this.parts = (int) ((size + options.partSize() - 1) / options.partSize());
    }

    /**
     * The part size for an object of {@code size} bytes: {@code wanted}, raised to whole MiB so that at most
     * {@value #MAX_PARTS} parts are needed.
     */
    public static long partSizeFor(long size, long wanted) {
        long least = (size + MAX_PARTS - 1) / MAX_PARTS;
        if (wanted >= least) {
            return wanted;
        }
        long mib = 1L << 20;
        return (least + mib - 1) / mib * mib;
    }

    /**
     * Uploads {@code file} as {@code object}, replacing what is stored under its key. The file must not change
     * meanwhile.
     *
     * @throws BackendException naming the object, the failed step or part, the status and the server's message
     */
    public static void upload(ObjectBlobBackend object, Path file, Options options) throws IOException {
        long size = Files.size(file);
        if (size == 0) {
            throw new IllegalArgumentException("multipart upload of an empty file " + file);
        }
        if ((size + options.partSize() - 1) / options.partSize() > MAX_PARTS) {
            throw new IllegalArgumentException("part size " + options.partSize() + " gives more than " + MAX_PARTS
                    + " parts for " + size + " bytes (see partSizeFor)");
        }
        new MultipartUpload(object, file, options, size).run();
    }

    private String prefix() {
        return object.type() + " backend: multipart upload of " + object.display() + " (" + size + " bytes, "
                + parts + " parts of " + options.partSize() + ")";
    }

    private void run() throws IOException {
        long started = System.nanoTime();
        String uploadId = initiate();
        String query = "uploadId=" + encode(uploadId);
        try {
            String[] etags = uploadParts(query);
            complete(query, etags);
        } catch (IOException | RuntimeException | Error e) {
            // an interrupted caller still gets the abort sent (its pauses between tries would end at once)
            boolean interrupted = Thread.interrupted();
            String aborted;
            try {
                aborted = abort(query, uploadId);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            String message = e.getMessage() + "; " + aborted;
            if (e instanceof InterruptedIOException) {
                InterruptedIOException i = new InterruptedIOException(prefix() + " interrupted; " + aborted);
                i.initCause(e);
                throw i;
            }
            if (e instanceof BackendException b) {
                throw new BackendException(message, false, b.httpStatus(), e);
            }
            if (e instanceof IOException) {
                throw new IOException(message, e);
            }
            throw e;
        }
        object.forgetSize();
        long stored = object.size();
        if (stored != size) {
            String deleted = deleteObject();
            throw new BackendException(prefix() + ": the completed object has " + stored + " bytes, not " + size
                    + "; " + deleted, false, 0, null);
        }
        LOG.debug("{}: done in {} ms", prefix(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }

    private String initiate() throws IOException {
        String what = "POST " + object.display() + "?uploads (initiate)";
        ObjectBlobBackend.Reply reply = retrying(what, () -> object.call("POST", "uploads", Map.of(), null, what));
        Matcher m = UPLOAD_ID.matcher(reply.body());
        if (!m.find() || m.group(1).isBlank()) {
            throw new BackendException(prefix() + ": " + what + " answered HTTP " + reply.status()
                    + " without an UploadId", false, reply.status(), null);
        }
        return unescapeXml(m.group(1).trim());
    }

    /** A failed part: its number and the last error. */
    private record PartFailure(int part, Throwable error) {
    }

    private String[] uploadParts(String uploadQuery) throws IOException {
        String[] etags = new String[parts];
        AtomicReference<PartFailure> failure = new AtomicReference<>();
        int threads = Math.min(options.parallelism(), parts);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "nydus-" + object.type() + "-upload-" + THREAD_IDS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>(parts);
            for (int i = 0; i < parts; i++) {
                int part = i + 1;
                futures.add(pool.submit(() -> {
                    if (failure.get() != null) {
                        return; // another part failed for good: the upload is aborted, do not send more
                    }
                    try {
                        etags[part - 1] = uploadPart(uploadQuery, part, failure);
                    } catch (IOException | RuntimeException e) {
                        failure.compareAndSet(null, new PartFailure(part, e));
                    }
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    failure.compareAndSet(null, new PartFailure(0, e.getCause()));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, new PartFailure(0, e));
            pool.shutdownNow();
            throw new InterruptedIOException(prefix() + ": interrupted while uploading parts");
        } finally {
            pool.shutdownNow();
            try {
                // a part still sending when we abort would recreate its stored part after the abort
                if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                    LOG.warn("{}: upload threads still busy after 60 s", prefix());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        PartFailure f = failure.get();
        if (f != null) {
            long from = (long) (f.part() - 1) * options.partSize();
            String where = f.part() == 0 ? "" : " part " + f.part() + " of " + parts + " (bytes " + from + "-"
                    + (Math.min(size, from + options.partSize()) - 1) + ")";
            Throwable cause = f.error();
            String message = prefix() + ": failed at" + where + ": " + cause.getMessage();
            if (cause instanceof BackendException b) {
                throw new BackendException(message, false, b.httpStatus(), cause);
            }
            throw new IOException(message, cause);
        }
        return etags;
    }

    private String uploadPart(String uploadQuery, int part, AtomicReference<PartFailure> failure)
            throws IOException {
        long offset = (long) (part - 1) * options.partSize();
        long length = Math.min(options.partSize(), size - offset);
        String query = "partNumber=" + part + "&" + uploadQuery;
        String what = "PUT " + object.display() + "?partNumber=" + part + " (" + length + " bytes)";
        ObjectBlobBackend.Reply reply = retrying(what, () -> {
            if (failure.get() != null) {
                throw new InterruptedIOException("another part failed");
            }
            Map<String, String> headers = digestHeaders(offset, length);
            return object.call("PUT", query, headers, new FileRangeEntity(file, offset, length), what);
        });
        String etag = reply.headers().get("etag");
        if (etag == null || etag.isBlank()) {
            throw new BackendException(object.type() + " backend: " + what + " answered HTTP " + reply.status()
                    + " without an ETag", false, reply.status(), null);
        }
        return etag;
    }

    private Map<String, String> digestHeaders(long offset, long length) throws IOException {
        return switch (options.digest()) {
            case SHA256 -> Map.of("x-amz-content-sha256",
                    HexFormat.of().formatHex(FileRangeEntity.digest(file, offset, length, "SHA-256")));
            case MD5 -> Map.of("content-md5",
                    Base64.getEncoder().encodeToString(FileRangeEntity.digest(file, offset, length, "MD5")));
        };
    }

    private void complete(String uploadQuery, String[] etags) throws IOException {
        StringBuilder xml = new StringBuilder("<CompleteMultipartUpload>");
        for (int i = 0; i < etags.length; i++) {
            xml.append("<Part><PartNumber>").append(i + 1).append("</PartNumber><ETag>").append(escapeXml(etags[i]))
                    .append("</ETag></Part>");
        }
        byte[] body = xml.append("</CompleteMultipartUpload>").toString().getBytes(StandardCharsets.UTF_8);
        Map<String, String> headers = switch (options.digest()) {
            case SHA256 -> Map.of("x-amz-content-sha256", HexFormat.of().formatHex(digest(body, "SHA-256")));
            case MD5 -> Map.of("content-md5", Base64.getEncoder().encodeToString(digest(body, "MD5")));
        };
        String what = "POST " + object.display() + "?uploadId (complete " + etags.length + " parts)";
        int[] attempt = {0};
        try {
            retrying(what, () -> {
                attempt[0]++;
                ObjectBlobBackend.Reply reply = object.call("POST", uploadQuery, headers,
                        new ByteArrayEntity(body, (ContentType) null), what);
                // S3 may answer 200 and report the failure in the body (AWS CompleteMultipartUpload docs)
                if (ERROR.matcher(reply.body()).find()) {
                    Matcher code = ERROR_CODE.matcher(reply.body());
                    boolean retryable = code.find() && RETRYABLE_COMPLETE_CODES.contains(code.group(1));
                    throw new BackendException(object.type() + " backend: " + what + ": HTTP " + reply.status()
                            + " with an error" + ObjectBlobBackend.errorDetail(reply.body()), retryable,
                            reply.status(), null);
                }
                return reply;
            });
        } catch (BackendException e) {
            // a retry after a lost answer finds the upload already completed (NoSuchUpload): the object is there
            if (attempt[0] > 1 && e.httpStatus() == 404) {
                object.forgetSize();
                try {
                    if (object.size() == size) {
                        return;
                    }
                } catch (IOException ignored) {
                    // not there: report the original failure
                }
            }
            throw new BackendException(prefix() + ": " + e.getMessage(), false, e.httpStatus(), e);
        }
    }

    /** Aborts the upload (dropping stored parts); returns what to tell the user. */
    private String abort(String uploadQuery, String uploadId) {
        String what = "DELETE " + object.display() + "?uploadId (abort)";
        try {
            retrying(what, () -> object.call("DELETE", uploadQuery, Map.of(), null, what));
            return "the upload was aborted";
        } catch (BackendException e) {
            if (e.httpStatus() == 404) {
                return "the upload was aborted";
            }
            return "aborting the upload failed too (" + e.getMessage() + "); upload id " + uploadId
                    + " may keep its parts until the bucket's lifecycle rule removes them";
        } catch (IOException | RuntimeException e) {
            return "aborting the upload failed too (" + e.getMessage() + "); upload id " + uploadId
                    + " may keep its parts until the bucket's lifecycle rule removes them";
        }
    }

    private String deleteObject() {
        String what = "DELETE " + object.display();
        try {
            retrying(what, () -> object.call("DELETE", "", Map.of(), null, what));
            object.forgetSize();
            return "the object was deleted";
        } catch (IOException | RuntimeException e) {
            return "deleting it failed too (" + e.getMessage() + ")";
        }
    }

    /** Runs {@code call} up to {@code attempts} times while it fails with a retryable error ({@link UploadRetry}). */
    private ObjectBlobBackend.Reply retrying(String what, UploadRetry.Call<ObjectBlobBackend.Reply> call)
            throws IOException {
        return UploadRetry.run(prefix() + ": " + what, options.attempts(), options.backoff(), call);
    }

    private static byte[] digest(byte[] body, String algorithm) {
        try {
            return java.security.MessageDigest.getInstance(algorithm).digest(body);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " unavailable", e);
        }
    }

    /** Percent-encodes a query value: everything but unreserved characters, uppercase hex (SigV4 form). */
    static String encode(String value) {
        StringBuilder sb = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    private static String escapeXml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String unescapeXml(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'")
                .replace("&amp;", "&");
    }

    @Override
    public String toString() {
        return "MultipartUpload[" + object.display() + ", " + parts + " parts]";
    }
}
