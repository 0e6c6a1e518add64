package dev.nydus4j.backend.s3;

import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SigV4 with a query string, as multipart uploads send ({@code ?uploads}, {@code ?partNumber=N&uploadId=ID}): the
 * published AWS examples with a sub-resource and with parameters, then the provider's signer on multipart-shaped
 * URIs.
 */
class SigV4QueryTest {
    private static final String AK = "AKIAIOSFODNN7EXAMPLE";
    private static final String SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private static final String DATE = "20130524T000000Z";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2013-05-24T00:00:00Z"), ZoneOffset.UTC);

    private static TreeMap<String, String> headers() {
        TreeMap<String, String> m = new TreeMap<>();
        m.put("host", "examplebucket.s3.amazonaws.com");
        m.put("x-amz-content-sha256", SigV4.EMPTY_SHA256);
        m.put("x-amz-date", DATE);
        return m;
    }

    /** AWS S3 API reference, sig-v4-header-based-auth, "Example: GET Bucket Lifecycle" ({@code GET /?lifecycle}). */
    @Test
    void awsGetBucketLifecycleExample() {
        String query = SigV4.canonicalQuery("lifecycle");
        assertThat(query).as("a bare sub-resource gets an empty value").isEqualTo("lifecycle=");
        SigV4.Signature s = SigV4.sign("GET", "/", query, headers(), SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3",
                DATE);
        assertThat(s.signature()).isEqualTo("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    }

    /** The same reference, "Example: Get Bucket (List Objects)" ({@code GET /?max-keys=2&prefix=J}). */
    @Test
    void awsListObjectsExample() {
        String query = SigV4.canonicalQuery("prefix=J&max-keys=2");
        assertThat(query).as("sorted by name").isEqualTo("max-keys=2&prefix=J");
        SigV4.Signature s = SigV4.sign("GET", "/", query, headers(), SigV4.EMPTY_SHA256, AK, SK, "us-east-1", "s3",
                DATE);
        assertThat(s.signature()).isEqualTo("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    @Test
    void canonicalQueryEncodesOnceAndSortsByNameThenValue() {
        assertThat(SigV4.canonicalQuery(null)).isEmpty();
        assertThat(SigV4.canonicalQuery("uploadId=a%2Fb%3D%3D&partNumber=10"))
                .isEqualTo("partNumber=10&uploadId=a%2Fb%3D%3D");
        assertThat(SigV4.canonicalQuery("uploadId=a/b==&partNumber=2"))
                .as("raw reserved characters are encoded").isEqualTo("partNumber=2&uploadId=a%2Fb%3D%3D");
        assertThat(SigV4.canonicalQuery("b=2&a=&a=1")).isEqualTo("a=&a=1&b=2");
        assertThat(SigV4.canonicalQuery("prefix=my%20blobs%2Bx")).isEqualTo("prefix=my%20blobs%2Bx");
    }

    @Test
    void providerSignsTheCanonicalQueryOfMultipartRequests() {
        S3Config config = S3Config.of("https", "s3.amazonaws.com", "us-east-1", "examplebucket", "", AK, SK);
        ObjectBlobBackend.Signer signer = S3BackendProvider.signer(config, CLOCK);
        URI initiate = URI.create("https://s3.amazonaws.com/examplebucket/blob?uploads");
        Map<String, String> h = signer.sign("POST", initiate, new TreeMap<>());
        String expected = SigV4.sign("POST", "/examplebucket/blob", "uploads=", signed(h), SigV4.EMPTY_SHA256, AK,
                SK, "us-east-1", "s3", DATE).authorization();
        assertThat(h.get("authorization")).isEqualTo(expected);

        String partHash = "ab".repeat(32);
        URI part = URI.create("https://s3.amazonaws.com/examplebucket/blob?partNumber=3&uploadId=VXBsb2FkIElE%2B%3D");
        Map<String, String> p = signer.sign("PUT", part, new TreeMap<>(Map.of("x-amz-content-sha256", partHash)));
        SigV4.Signature s = SigV4.sign("PUT", "/examplebucket/blob", "partNumber=3&uploadId=VXBsb2FkIElE%2B%3D",
                signed(p), partHash, AK, SK, "us-east-1", "s3", DATE);
        assertThat(s.canonicalRequest()).startsWith("PUT\n/examplebucket/blob\npartNumber=3&uploadId=VXBsb2FkIElE%2B%3D\n")
                .endsWith("\n" + partHash);
        assertThat(p.get("authorization")).isEqualTo(s.authorization());
    }

    private static TreeMap<String, String> signed(Map<String, String> sent) {
        TreeMap<String, String> m = new TreeMap<>(sent);
        m.remove("authorization");
        return m;
    }
}
