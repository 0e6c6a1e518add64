package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.MultipartUpload;
import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BackendException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * OSS multipart uploads. No OSS-compatible server runs here (TESTING.md 3.1), so: the signing of multipart requests
 * against the published V1 example and the documented canonical-resource rules, then the whole flow against
 * {@link OssMultipartServer}, which checks every signature and Content-MD5 with its own code.
 */
class OssMultipartUploadTest {
    private static final String AK = "44CF9590006BF252F707";
    private static final String SK = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV";
    private static final String DATE = "Thu, 17 Nov 2005 18:49:58 GMT";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2005-11-17T18:49:58Z"), ZoneOffset.UTC);
    private static final String ID = "cd".repeat(32);
    private static final int PART = 256 * 1024;

    @TempDir
    Path tmp;
    private OssMultipartServer server;

    @BeforeEach
    void start() throws Exception {
        server = new OssMultipartServer("nydus", "mpu-ak", "mpu-sk");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** The published header example, signed through the provider: Content-MD5 and Content-Type now count. */
    @Test
    void providerSignsContentMd5AndTypeAsThePublishedExample() {
        OssConfig config = OssConfig.of("https", "oss-cn-hangzhou.aliyuncs.com", "oss-example", "", AK, SK);
        ObjectBlobBackend.Signer signer = OssBackendProvider.signer(config, "/oss-example/nelson", CLOCK);
        Map<String, String> h = signer.sign("PUT", URI.create("https://oss-example.oss-cn-hangzhou.aliyuncs.com/nelson"),
                new TreeMap<>(Map.of("content-md5", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
                        "content-type", "text/html", "x-oss-magic", "abracadabra",
                        "x-oss-meta-author", "foo@bar.com")));
        assertThat(h).containsEntry("date", DATE)
                .containsEntry("authorization", "OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA=");
    }

    /** CanonicalizedResource: sub-resources sorted, decoded, bare ones without '='; other parameters left out. */
    @Test
    void canonicalResourceOfMultipartRequests() {
        assertThat(OssSigner.canonicalResource("/oss-example/multipart.data", "uploads"))
                .isEqualTo("/oss-example/multipart.data?uploads");
        assertThat(OssSigner.canonicalResource("/oss-example/multipart.data",
                "uploadId=0004B9895DBBB6EC98E36&partNumber=1"))
                .isEqualTo("/oss-example/multipart.data?partNumber=1&uploadId=0004B9895DBBB6EC98E36");
        assertThat(OssSigner.canonicalResource("/b/k", "uploadId=a%2Bb%2F%3D")).isEqualTo("/b/k?uploadId=a+b/=");
        assertThat(OssSigner.canonicalResource("/b/k", "max-uploads=10&uploads")).isEqualTo("/b/k?uploads");
        assertThat(OssSigner.canonicalResource("/b/k", "foo=bar")).isEqualTo("/b/k");
        assertThat(OssSigner.canonicalResource("/b/k", null)).isEqualTo("/b/k");

        OssConfig config = OssConfig.of("https", "oss-cn-hangzhou.aliyuncs.com", "oss-example", "", AK, SK);
        ObjectBlobBackend.Signer signer = OssBackendProvider.signer(config, "/oss-example/multipart.data", CLOCK);
        Map<String, String> part = signer.sign("PUT", URI.create(
                "https://oss-example.oss-cn-hangzhou.aliyuncs.com/multipart.data?partNumber=1&uploadId=0004B98"),
                new TreeMap<>(Map.of("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")));
        String sts = "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\n\n" + DATE + "\n/oss-example/multipart.data?partNumber=1"
                + "&uploadId=0004B98";
        assertThat(part.get("authorization")).isEqualTo("OSS " + AK + ":" + OssSigner.signature(SK, sts));
    }

    private ObjectBlobBackend open(String secret) throws Exception {
        OssConfig config = OssConfig.of("http", server.endpoint(), "nydus", "blobs/", "mpu-ak", secret);
        return (ObjectBlobBackend) new OssBackendProvider(Map.of()).open(config, ID, BackendContext.simple("/"));
    }

    private static MultipartUpload.Options options() {
        return new MultipartUpload.Options(PART, 3, 3, Duration.ofMillis(10), MultipartUpload.PayloadDigest.MD5);
    }

    private Path file(int size, long seed) throws Exception {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return Files.write(tmp.resolve("blob-" + seed), data);
    }

    @Test
    void partsGoUpSignedWithTheirMd5AndReadBackByteForByte() throws Exception {
        Path f = file(4 * PART + 77, 1);
        try (ObjectBlobBackend b = open("mpu-sk")) {
            MultipartUpload.upload(b, f, options());
            assertThat(server.badSignatures.get()).isZero();
            assertThat(server.partsWithoutMd5.get()).isZero();
            assertThat(server.requests).as("initiate, 5 parts, complete, then HEAD").hasSize(8)
                    .first().isEqualTo("POST ?uploads");
            assertThat(server.requests).filteredOn(r -> r.startsWith("PUT ?partNumber=")).hasSize(5)
                    .allMatch(r -> r.contains("&uploadId=0004B9895DBBB6EC98E3%2B%2F%3D"));
            assertThat(server.uploadsLeft()).isEmpty();
            byte[] expected = Files.readAllBytes(f);
            assertThat(server.objects.get("blobs/" + ID)).isEqualTo(expected);
            assertThat(b.size()).isEqualTo(expected.length);
            ByteBuffer buf = ByteBuffer.allocate(expected.length);
            while (buf.hasRemaining()) {
                assertThat(b.read(buf, buf.position())).isPositive();
            }
            assertThat(buf.array()).isEqualTo(expected);
        }
    }

    @Test
    void aFailingPartIsRetried() throws Exception {
        Path f = file(3 * PART, 2);
        server.failures.put(3, 2);
        try (ObjectBlobBackend b = open("mpu-sk")) {
            MultipartUpload.upload(b, f, options());
        }
        assertThat(server.failures.get(3)).isZero();
        assertThat(server.requests).filteredOn(r -> r.startsWith("PUT ?partNumber=3&")).hasSize(3);
        assertThat(server.objects.get("blobs/" + ID)).isEqualTo(Files.readAllBytes(f));
    }

    @Test
    void aPartThatKeepsFailingAbortsWithAClearError() throws Exception {
        Path f = file(3 * PART + 1, 3);
        server.failures.put(2, Integer.MAX_VALUE);
        try (ObjectBlobBackend b = open("mpu-sk")) {
            assertThatThrownBy(() -> MultipartUpload.upload(b, f, options()))
                    .isInstanceOfSatisfying(BackendException.class, e -> assertThat(e.isRetryable()).isFalse())
                    .hasMessageContaining("oss backend: multipart upload of oss://nydus/blobs/" + ID)
                    .hasMessageContaining("part 2 of 4 (bytes 262144-524287)")
                    .hasMessageContaining("HTTP 500 InternalError: injected failure of part 2")
                    .hasMessageContaining("after 3 attempts")
                    .hasMessageContaining("the upload was aborted");
            assertThat(server.requests).contains("DELETE ?uploadId=0004B9895DBBB6EC98E3%2B%2F%3D1");
            assertThat(server.uploadsLeft()).as("no upload left").isEmpty();
            assertThat(server.objects).as("no object").isEmpty();
            assertThatThrownBy(b::size).isInstanceOf(FileNotFoundException.class);
        }
        assertThat(server.badSignatures.get()).isZero();
    }

    @Test
    void aWrongSecretFailsAtInitiateWithoutRetries() throws Exception {
        Path f = file(2 * PART, 4);
        try (ObjectBlobBackend b = open("wrong-secret")) {
            assertThatThrownBy(() -> MultipartUpload.upload(b, f, options()))
                    .isInstanceOfSatisfying(BackendException.class, e -> assertThat(e.httpStatus()).isEqualTo(403))
                    .hasMessageContaining("POST oss://nydus/blobs/" + ID + "?uploads (initiate): HTTP 403 "
                            + "SignatureDoesNotMatch")
                    .hasMessageNotContaining("wrong-secret");
        }
        assertThat(server.requests).containsExactly("POST ?uploads");
        assertThat(server.uploadsLeft()).isEmpty();
    }
}
