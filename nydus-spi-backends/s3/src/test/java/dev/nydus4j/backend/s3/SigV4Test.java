package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** SigV4 against the published AWS vectors and the nydus-shaped ones of BACKENDS.md 4.3, byte for byte. */
class SigV4Test {
    private static final String AK = "AKIAIOSFODNN7EXAMPLE";
    private static final String SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private static final String DATE = "20130524T000000Z";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2013-05-24T00:00:00Z"), ZoneOffset.UTC);

    private static TreeMap<String, String> headers(String... kv) {
        TreeMap<String, String> m = new TreeMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void awsS3GetObjectExample() {
        SigV4.Signature s = SigV4.sign("GET", "/test.txt", "", headers("host", "examplebucket.s3.amazonaws.com",
                        "range", "bytes=0-9", "x-amz-content-sha256", SigV4.EMPTY_SHA256, "x-amz-date", DATE),
                SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3", DATE);
        assertThat(s.canonicalRequest()).isEqualTo("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                + "range:bytes=0-9\nx-amz-content-sha256:" + SigV4.EMPTY_SHA256 + "\nx-amz-date:" + DATE + "\n\n"
                + "host;range;x-amz-content-sha256;x-amz-date\n" + SigV4.EMPTY_SHA256);
        assertThat(SigV4.sha256Hex(s.canonicalRequest()))
                .isEqualTo("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
        assertThat(s.stringToSign()).isEqualTo("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
        assertThat(s.signature()).isEqualTo("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        assertThat(s.authorization()).isEqualTo("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                + "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        assertThat(s.toString()).doesNotContain(SK);
    }

    @Test
    void awsTestSuiteGetVanilla() {
        SigV4.Signature s = SigV4.sign("GET", "/", "", headers("host", "example.amazonaws.com",
                        "x-amz-date", "20150830T123600Z"), SigV4.EMPTY_SHA256, "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service", "20150830T123600Z");
        assertThat(SigV4.sha256Hex(s.canonicalRequest()))
                .isEqualTo("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
        assertThat(s.signature()).isEqualTo("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }

    @Test
    void iamSigningKeyExample() {
        assertThat(HexFormat.of().formatHex(SigV4.signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                "us-east-1", "iam"))).isEqualTo("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    }

    @Test
    void nydusShapedVectors() {
        SigV4.Signature get = SigV4.sign("GET", "/examplebucket/test.txt", "", headers("host", "s3.amazonaws.com",
                        "range", "bytes=0-9", "x-amz-content-sha256", SigV4.EMPTY_SHA256, "x-amz-date", DATE),
                SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3", DATE);
        assertThat(SigV4.sha256Hex(get.canonicalRequest()))
                .isEqualTo("20b431fbaa6eb65f4ab40050a20d5ef50fb264506084b28b199cb2b72590f7b5");
        assertThat(get.signature()).isEqualTo("819484c483cfb97d16522b1ac156f87e61677cc8f1f2545c799650ef178f4aa8");

        SigV4.Signature head = SigV4.sign("HEAD", "/examplebucket/test.txt", "", headers("host", "s3.amazonaws.com",
                        "x-amz-content-sha256", SigV4.EMPTY_SHA256, "x-amz-date", DATE),
                SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3", DATE);
        assertThat(head.signedHeaders()).isEqualTo("host;x-amz-content-sha256;x-amz-date");
        assertThat(head.signature()).isEqualTo("4c35cdebfbfd71b5f1fe886703447d3f18c0ee03b67348361bac756716eaee32");

        SigV4.Signature upstream = SigV4.sign("GET", "/test-bucket/test-prefix-test-object", "",
                headers("host", "localhost", "range", "bytes=5242900-", "x-amz-content-sha256", SigV4.EMPTY_SHA256,
                        "x-amz-date", DATE), SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3", DATE);
        assertThat(SigV4.sha256Hex(upstream.canonicalRequest()))
                .isEqualTo("215fe5874bb5a7ba3beb06646d70f66e35bb6f15a5ff8a4c450d0c8e044ea344");
        assertThat(upstream.signature()).isEqualTo("b34605388abdc2c6b05c13097a75a7648867c70a4843ddf5b205977b61661c79");
    }

    @Test
    void providerSignsGetAndHeadAsTheNydusVectors() {
        S3Config config = S3Config.of("https", "", "us-east-1", "examplebucket", "", AK, SK);
        ObjectBlobBackend.Signer signer = S3BackendProvider.signer(config, CLOCK);
        URI uri = URI.create("https://s3.amazonaws.com/examplebucket/test.txt");
        Map<String, String> get = signer.sign("GET", uri, new TreeMap<>(Map.of("range", "bytes=0-9")));
        assertThat(get).containsEntry("host", "s3.amazonaws.com").containsEntry("x-amz-date", DATE)
                .containsEntry("x-amz-content-sha256", SigV4.EMPTY_SHA256).containsEntry("range", "bytes=0-9");
        assertThat(get.get("authorization")).endsWith(
                "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        + "Signature=819484c483cfb97d16522b1ac156f87e61677cc8f1f2545c799650ef178f4aa8");
        Map<String, String> head = signer.sign("HEAD", uri, new TreeMap<>());
        assertThat(head.get("authorization")).endsWith(
                "Signature=4c35cdebfbfd71b5f1fe886703447d3f18c0ee03b67348361bac756716eaee32");
        assertThat(head).doesNotContainKey("range");
    }

    @Test
    void hostWithPortIsSentAndSigned() {
        S3Config config = S3Config.of("http", "minio:9000", "us-east-1", "b", "", AK, SK);
        Map<String, String> h = S3BackendProvider.signer(config, CLOCK)
                .sign("HEAD", URI.create("http://minio:9000/b/x"), new TreeMap<>());
        assertThat(h).containsEntry("host", "minio:9000");
    }

    @Test
    void anonymousConfigSendsNoSignature() {
        S3Config config = S3Config.of("https", "", "us-east-1", "b", "", "", "");
        Map<String, String> h = S3BackendProvider.signer(config, CLOCK)
                .sign("GET", URI.create("https://s3.amazonaws.com/b/x"), new TreeMap<>(Map.of("range", "bytes=0-0")));
        assertThat(h).containsOnlyKeys("range");
    }

    @Test
    void objectKeysAreEncodedPerSegment() {
        assertThat(SigV4.encodePath("nydus/blobs v1/ab+c~d_e.f-g")).isEqualTo("nydus/blobs%20v1/ab%2Bc~d_e.f-g");
        assertThat(SigV4.encodePath("ä")).isEqualTo("%C3%A4");
        assertThat(List.of(SigV4.encodePath("0123abcdef"))).containsExactly("0123abcdef");
    }
}
