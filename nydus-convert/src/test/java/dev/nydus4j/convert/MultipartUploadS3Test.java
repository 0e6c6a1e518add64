package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.backend.s3.S3BackendProvider;
import dev.nydus4j.spi.BlobBackend;
import org.gaul.s3proxy.S3ErrorCode;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.S3ProxyException;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.blobstore.domain.MultipartUpload;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --backend-type s3} with blobs above the multipart threshold, against a real in-process s3proxy (SigV4
 * enforced, TESTING.md 3.1) whose store can be told to fail UploadPart of chosen parts: the blob round-trips byte for
 * byte and reads back through the s3 backend, a part that fails once is sent again, a part that keeps failing aborts
 * the upload (no upload listed, no object), and the skip / force-push rules still hold. Small parts (the store's
 * 5 MiB minimum) keep the blobs at ~12 MiB.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultipartUploadS3Test {
    private static final String ACCESS_KEY = "mpu-ak";
    private static final String SECRET = "mpu-sk-0123456789";
    private static final long PART = 5L << 20;
    private static final ExternalBlobBackend.ObjectStoreBlobBackend.Upload SMALL_PARTS =
            new ExternalBlobBackend.ObjectStoreBlobBackend.Upload(PART, PART, 3, 3, Duration.ofMillis(20));

    @TempDir
    static Path tmp;
    private S3Proxy proxy;
    private TransientNio2BlobStore store;
    /** part number -> how many more UploadPart calls of it fail (Integer.MAX_VALUE: always). */
    private final Map<Integer, Integer> failures = new ConcurrentHashMap<>();
    private final AtomicInteger partCalls = new AtomicInteger();
    /** How many more single PUTs fail. */
    private final AtomicInteger putFailures = new AtomicInteger();
    /** How many more CompleteMultipartUpload calls fail. */
    private final AtomicInteger completeFailures = new AtomicInteger();
    private final Set<String> initiated = ConcurrentHashMap.newKeySet();

    @BeforeAll
    void start() throws Exception {
        store = new TransientNio2BlobStore();
        store.createContainer("nydus");
        BlobStore faulty = new ForwardingBlobStore(store) {
            @Override
            public MultipartUpload initiateMultipartUpload(
                    software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest request) {
                MultipartUpload u = super.initiateMultipartUpload(request);
                initiated.add(u.id());
                return u;
            }

            @Override
            public software.amazon.awssdk.services.s3.model.PutObjectResponse putBlob(
                    software.amazon.awssdk.services.s3.model.PutObjectRequest request, InputStream in) {
                if (putFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    drain(in); // read the request, as a server failing after it would
                    throw new S3ProxyException(S3ErrorCode.INTERNAL_ERROR, "injected failure of PUT");
                }
                return super.putBlob(request, in);
            }

            @Override
            public software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse completeMultipartUpload(
                    MultipartUpload upload,
                    software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest request) {
                if (completeFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw new S3ProxyException(S3ErrorCode.INTERNAL_ERROR, "injected failure of complete");
                }
                return super.completeMultipartUpload(upload, request);
            }

            @Override
            public UploadPartResponse uploadMultipartPart(MultipartUpload upload, UploadPartRequest request,
                                                          InputStream in) {
                partCalls.incrementAndGet();
                int part = request.partNumber();
                Integer left = failures.get(part);
                if (left != null && left > 0) {
                    failures.put(part, left == Integer.MAX_VALUE ? left : left - 1);
                    drain(in);
                    throw new S3ProxyException(S3ErrorCode.INTERNAL_ERROR, "injected failure of part " + part);
                }
                return super.uploadMultipartPart(upload, request, in);
            }
        };
        proxy = S3ProxyServers.s3(faulty, ACCESS_KEY, SECRET);
    }

    private static void drain(InputStream in) {
        try {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
    }

    @BeforeEach
    void reset() {
        failures.clear();
        partCalls.set(0);
        putFailures.set(0);
        completeFailures.set(0);
    }

    private ObjectNode config(String prefix) {
        return (ObjectNode) Manifest.JSON.createObjectNode().put("scheme", "http")
                .put("endpoint", "127.0.0.1:" + proxy.getPort()).put("region", "us-east-1")
                .put("bucket_name", "nydus").put("object_prefix", prefix).put("access_key_id", ACCESS_KEY)
                .put("access_key_secret", SECRET);
    }

    private ExternalBlobBackend backend(String prefix, boolean force) {
        return ExternalBlobBackend.ObjectStoreBlobBackend.of(new S3BackendProvider(Map.of()), config(prefix), force,
                SMALL_PARTS);
    }

    /** A blob of {@code size} random bytes, returned with its sha256 hex (the blob id). */
    private static Map.Entry<String, Path> blob(String name, long size, long seed) throws Exception {
        byte[] data = new byte[(int) size];
        new Random(seed).nextBytes(data);
        Path f = Files.write(tmp.resolve(name), data);
        return Map.entry(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)), f);
    }

    private static byte[] readAll(BlobBackend b) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) b.size());
        while (buf.hasRemaining()) {
            int n = b.read(buf, buf.position());
            assertThat(n).as("read at " + buf.position()).isPositive();
        }
        return buf.array();
    }

    private List<String> keys(String prefix) {
        return store.list("nydus").contents().stream().map(o -> o.key()).filter(k -> k.startsWith(prefix)).toList();
    }

    @Test
    void bigBlobGoesInPartsAndReadsBackByteForByte() throws Exception {
        var blob = blob("big", 2 * PART + 12_345, 1);
        ExternalBlobBackend backend = backend("rt/", false);
        assertThat(backend.push(blob.getKey(), blob.getValue())).isTrue();
        assertThat(partCalls.get()).as("three parts: 5 MiB, 5 MiB, 12345 bytes").isEqualTo(3);
        assertThat(keys("rt/")).containsExactly("rt/" + blob.getKey());
        try (BlobBackend b = backend.open(blob.getKey())) {
            assertThat(b.size()).isEqualTo(Files.size(blob.getValue()));
            assertThat(readAll(b)).isEqualTo(Files.readAllBytes(blob.getValue()));
        }
        assertThat(store.listMultipartUploads("nydus")).as("no upload left open").isEmpty();

        assertThat(backend.push(blob.getKey(), blob.getValue())).as("same size stored: skipped").isFalse();
        assertThat(partCalls.get()).isEqualTo(3);
        assertThat(backend("rt/", true).push(blob.getKey(), blob.getValue())).as("--backend-force-push").isTrue();
        assertThat(partCalls.get()).isEqualTo(6);

        var small = blob("small", PART, 2);
        assertThat(backend.push(small.getKey(), small.getValue())).isTrue();
        assertThat(partCalls.get()).as("at the threshold: one PUT, no parts").isEqualTo(6);
        try (BlobBackend b = backend.open(small.getKey())) {
            assertThat(readAll(b)).isEqualTo(Files.readAllBytes(small.getValue()));
        }
    }

    @Test
    void aPartFailingOnceIsSentAgain() throws Exception {
        var blob = blob("retried", 2 * PART + 1, 3);
        failures.put(2, 1);
        ExternalBlobBackend backend = backend("retry/", false);
        assertThat(backend.push(blob.getKey(), blob.getValue())).isTrue();
        assertThat(failures.get(2)).as("the failure was hit").isZero();
        assertThat(partCalls.get()).as("3 parts + 1 retry").isEqualTo(4);
        try (BlobBackend b = backend.open(blob.getKey())) {
            assertThat(readAll(b)).isEqualTo(Files.readAllBytes(blob.getValue()));
        }
        assertThat(store.listMultipartUploads("nydus")).isEmpty();
    }

    @Test
    void aPartThatKeepsFailingAbortsTheUploadAndLeavesNoObject() throws Exception {
        var blob = blob("doomed", 3 * PART, 4);
        failures.put(2, Integer.MAX_VALUE);
        int before = initiated.size();
        ExternalBlobBackend backend = backend("abort/", false);
        assertThatThrownBy(() -> backend.push(blob.getKey(), blob.getValue()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot push blob sha256:" + blob.getKey())
                .hasMessageContaining("s3://nydus/abort/" + blob.getKey())
                .hasMessageContaining("part 2 of 3")
                .hasMessageContaining("HTTP 500 InternalError: injected failure of part 2")
                .hasMessageContaining("after 3 attempts")
                .hasMessageContaining("the upload was aborted")
                .hasMessageNotContaining(SECRET);
        assertThat(initiated.size()).isEqualTo(before + 1);
        assertThat(store.listMultipartUploads("nydus")).as("ListMultipartUploads: none").isEmpty();
        assertThat(keys("abort/")).as("no object, no part left").isEmpty();
        try (BlobBackend b = backend.open(blob.getKey())) {
            assertThatThrownBy(b::size).isInstanceOf(java.io.FileNotFoundException.class);
        }
    }

    /**
     * {@code --backend-type oss} in parts through s3proxy without authentication (it serves OSS-signed requests,
     * TESTING.md 3.1) with virtual-hosted buckets: s3proxy checks each part's Content-MD5 and the 5 MiB part minimum.
     */
    @Test
    void ossBlobGoesInPartsThroughAnS3CompatibleStore() throws Exception {
        TransientNio2BlobStore ossStore = new TransientNio2BlobStore();
        ossStore.createContainer("nydus");
        S3Proxy oss = S3ProxyServers.ossStandIn(ossStore);
        try {
            ObjectNode config = (ObjectNode) Manifest.JSON.createObjectNode().put("scheme", "http")
                    .put("endpoint", "localhost:" + oss.getPort()).put("bucket_name", "nydus")
                    .put("object_prefix", "oss/").put("access_key_id", "ak").put("access_key_secret", "sk");
            ExternalBlobBackend backend = ExternalBlobBackend.ObjectStoreBlobBackend.of(
                    new dev.nydus4j.backend.oss.OssBackendProvider(Map.of()), config, false, SMALL_PARTS);
            var blob = blob("oss-big", 2 * PART + 99, 5);
            assertThat(backend.push(blob.getKey(), blob.getValue())).isTrue();
            assertThat(ossStore.list("nydus").contents()).singleElement()
                    .satisfies(o -> assertThat(o.key()).isEqualTo("oss/" + blob.getKey()))
                    .satisfies(o -> assertThat(o.size()).isEqualTo(Files.size(blob.getValue())));
            assertThat(ossStore.listMultipartUploads("nydus")).isEmpty();
            try (BlobBackend b = backend.open(blob.getKey())) {
                assertThat(readAll(b)).isEqualTo(Files.readAllBytes(blob.getValue()));
            }
            assertThat(backend.push(blob.getKey(), blob.getValue())).as("same size stored: skipped").isFalse();
        } finally {
            oss.stop();
        }
    }

    /** Upstream nydusify's {@code part_size} / {@code num_upload_threads} are taken and kept out of nydusd's config. */
    @Test
    void uploadKeysOfTheConfigAreCheckedAndNotPassedToNydusd() {
        ObjectNode config = config("k/").put("part_size", 16 << 20).put("num_upload_threads", 2);
        var backend = ExternalBlobBackend.ObjectStoreBlobBackend.of(new S3BackendProvider(Map.of()), config, false);
        assertThat(backend.upload().partSize()).isEqualTo(16 << 20);
        assertThat(backend.upload().threshold()).as("as upstream: more than one part's worth goes in parts")
                .isEqualTo(16 << 20);
        assertThat(backend.upload().threads()).isEqualTo(2);
        assertThat(backend.config().has("part_size")).isFalse();
        assertThat(backend.config().has("num_upload_threads")).isFalse();
        assertThat(backend.config().path("bucket_name").asText()).isEqualTo("nydus");

        var defaults = ExternalBlobBackend.ObjectStoreBlobBackend.of(new S3BackendProvider(Map.of()), config("k/"),
                false).upload();
        assertThat(defaults.threshold()).isEqualTo(64L << 20);
        assertThat(defaults.partSize()).isEqualTo(32L << 20);
        assertThat(defaults.threads()).isEqualTo(3);

        assertThatThrownBy(() -> ExternalBlobBackend.ObjectStoreBlobBackend.of(new S3BackendProvider(Map.of()),
                config("k/").put("part_size", 1024), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("s3 backend config is invalid").hasMessageContaining("\"part_size\"")
                .hasMessageContaining("5242880..5368709120");
        assertThatThrownBy(() -> ExternalBlobBackend.ObjectStoreBlobBackend.of(new S3BackendProvider(Map.of()),
                config("k/").put("num_upload_threads", "four"), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"num_upload_threads\"");
    }

    /**
     * The CLI end to end: {@code nydusify convert --backend-type s3} of an image whose nydus blob (~12 MiB of random
     * data) is above the threshold (5 MiB here, through the system properties), one part failing once on the way;
     * then {@code nydusify check} reads the blob back from the bucket.
     */
    @Test
    void nydusifyConvertUploadsABigBlobInPartsAndChecksIt() throws Exception {
        org.assertj.core.api.Assumptions.assumeThat(dev.nydus4j.testkit.oci.OciTools.available())
                .as("umoci, skopeo and busybox-static are needed; skipping").isTrue();
        dev.nydus4j.testkit.oci.LayeredImage image = dev.nydus4j.testkit.oci.LayeredImage.create(
                Files.createDirectories(tmp.resolve("cli-src")), "latest");
        image.layer(root -> {
            byte[] big = new byte[12 << 20];
            new Random(9).nextBytes(big);
            Files.write(root.resolve("big.bin"), big);
            Files.writeString(root.resolve("small.txt"), "small");
        });
        image.config("amd64");
        failures.put(2, 1);
        String config = Manifest.JSON.writeValueAsString(config("cli/"));
        String source = "oci:" + image.layout() + ":latest";
        String target = "oci:" + tmp.resolve("cli-out") + ":s3";
        Nydusify.Result r;
        System.setProperty("nydus4j.upload.threshold", Long.toString(PART));
        System.setProperty("nydus4j.upload.partSize", Long.toString(PART));
        try {
            r = Nydusify.run("convert", "--source", source, "--target", target, "--backend-type", "s3",
                    "--backend-config", config, "--work-dir", tmp.resolve("cli-work").toString());
        } finally {
            System.clearProperty("nydus4j.upload.threshold");
            System.clearProperty("nydus4j.upload.partSize");
        }
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(failures.get(2)).as("part 2 failed once and was sent again").isZero();
        assertThat(partCalls.get()).as("3 parts + 1 retry").isEqualTo(4);
        List<String> stored = keys("cli/");
        assertThat(stored).singleElement().satisfies(k -> assertThat(k).matches("cli/[0-9a-f]{64}"));
        assertThat(store.listMultipartUploads("nydus")).isEmpty();

        Nydusify.Result c = Nydusify.run("check", "--source", source, "--target", target, "--backend-type", "s3",
                "--backend-config", config, "--work-dir", tmp.resolve("cli-check").toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        assertThat(c.out()).contains("read the blobs from s3://nydus/cli/").contains("0 difference(s)");
    }

    /** Below the threshold the blob goes in one PUT, which is tried again after a 500 (up to the attempts). */
    @Test
    void aSinglePutFailingOnceIsSentAgain() throws Exception {
        var blob = blob("one-put", 300_000, 6);
        putFailures.set(1);
        ExternalBlobBackend backend = backend("put/", false);
        assertThat(backend.push(blob.getKey(), blob.getValue())).isTrue();
        assertThat(putFailures.get()).as("the failure was hit").isZero();
        assertThat(partCalls.get()).isZero();
        try (BlobBackend b = backend.open(blob.getKey())) {
            assertThat(readAll(b)).isEqualTo(Files.readAllBytes(blob.getValue()));
        }

        putFailures.set(100);
        var doomed = blob("one-put-doomed", 1000, 7);
        assertThatThrownBy(() -> backend.push(doomed.getKey(), doomed.getValue()))
                .hasMessageContaining("cannot push blob sha256:" + doomed.getKey())
                .hasMessageContaining("after 3 attempts");
        assertThat(putFailures.get()).as("3 tries (SMALL_PARTS.attempts)").isEqualTo(97);
        assertThat(keys("put/")).containsExactly("put/" + blob.getKey());
    }

    /** CompleteMultipartUpload failing once is sent again; failing for good aborts the upload: nothing remains. */
    @Test
    void completeIsRetriedAndAbortsWhenItKeepsFailing() throws Exception {
        var blob = blob("complete", PART + 10, 8);
        ExternalBlobBackend backend = backend("complete/", false);
        completeFailures.set(1);
        assertThat(backend.push(blob.getKey(), blob.getValue())).isTrue();
        assertThat(completeFailures.get()).isZero();
        try (BlobBackend b = backend.open(blob.getKey())) {
            assertThat(readAll(b)).isEqualTo(Files.readAllBytes(blob.getValue()));
        }

        var doomed = blob("complete-doomed", PART + 20, 9);
        completeFailures.set(100);
        assertThatThrownBy(() -> backend.push(doomed.getKey(), doomed.getValue()))
                .hasMessageContaining("complete 2 parts")
                .hasMessageContaining("HTTP 500 InternalError: injected failure of complete")
                .hasMessageContaining("after 3 attempts")
                .hasMessageContaining("the upload was aborted");
        assertThat(completeFailures.get()).isEqualTo(97);
        assertThat(store.listMultipartUploads("nydus")).isEmpty();
        assertThat(keys("complete/")).containsExactly("complete/" + blob.getKey());
    }
}
