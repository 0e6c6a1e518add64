package dev.nydus4j.backend.oss;

import dev.nydus4j.backend.objectstorage.ObjectBlobBackend;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** OSS V1 signing against the published vectors and the nydus-shaped ones of BACKENDS.md 3.3, byte for byte. */
class OssSignerTest {
    private static final String AK = "44CF9590006BF252F707";
    private static final String SK = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV";
    private static final String DATE = "Thu, 17 Nov 2005 18:49:58 GMT";
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2005-11-17T18:49:58Z"), ZoneOffset.UTC);

    @Test
    void publishedHeaderExample() {
        Map<String, String> headers = new LinkedHashMap<>();
        // unsorted and mixed case on purpose: the canonical form sorts lowercase names
        headers.put("X-OSS-Meta-Author", "foo@bar.com");
        headers.put("X-OSS-Magic", "abracadabra");
        headers.put("Content-Type", "text/html");
        String sts = OssSigner.stringToSign("PUT", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=", "text/html", DATE,
                headers, "/oss-example/nelson");
        assertThat(sts).isEqualTo("PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\n"
                + "Thu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n"
                + "/oss-example/nelson");
        String sig = OssSigner.signature(SK, sts);
        assertThat(sig).isEqualTo("26NBxoKdsyly4EDv6inkoDft/yA=");
        assertThat(OssSigner.authorization(AK, sig)).isEqualTo("OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA=");
        // the Content-MD5 shown in the published HTTP message gives another signature (BACKENDS.md 3.3 caution)
        assertThat(OssSigner.signature(SK, OssSigner.stringToSign("PUT", "eB5eJF1ptWaXm4bijSPyxw==", "text/html",
                DATE, headers, "/oss-example/nelson"))).isEqualTo("hD208RWMpg77svXkQRwWXS+V5KQ=");
    }

    @Test
    void publishedUrlExample() {
        String sts = OssSigner.stringToSign("GET", "", "", "1141889120", Map.of(), "/oss-example/oss-api.pdf");
        assertThat(sts).isEqualTo("GET\n\n\n1141889120\n/oss-example/oss-api.pdf");
        assertThat(OssSigner.signature(SK, sts)).isEqualTo("EwaNTn1erJGkimiJ9WmXgwnANLc=");
    }

    @Test
    void nydusShapedGetAndHeadThroughTheProvider() {
        OssConfig config = OssConfig.of("https", "oss-cn-hangzhou.aliyuncs.com", "oss-example", "nydus/", AK, SK);
        ObjectBlobBackend.Signer signer = OssBackendProvider.signer(config, "/oss-example/nydus/nelson", CLOCK);
        URI uri = URI.create("https://oss-example.oss-cn-hangzhou.aliyuncs.com/nydus/nelson");
        Map<String, String> get = signer.sign("GET", uri, new TreeMap<>(Map.of("range", "bytes=0-9")));
        assertThat(get).containsEntry("date", DATE).containsEntry("range", "bytes=0-9")
                .containsEntry("authorization", "OSS 44CF9590006BF252F707:bYk8r7WzyOENlnTIuVF+U7MurOo=");
        Map<String, String> head = signer.sign("HEAD", uri, new TreeMap<>());
        assertThat(head).containsOnlyKeys("date", "authorization")
                .containsEntry("authorization", "OSS 44CF9590006BF252F707:KY/DUHQIrKxLvo1K3qcbA3y7D3Q=");
        assertThat(OssSigner.stringToSign("GET", "", "", DATE, Map.of("range", "bytes=0-9"),
                "/oss-example/nydus/nelson")).isEqualTo("GET\n\n\n" + DATE + "\n/oss-example/nydus/nelson");
    }

    @Test
    void dateHasTwoDigitDaysAndEnglishNames() {
        assertThat(OssSigner.DATE.format(Instant.parse("2026-03-07T05:04:03Z"))).isEqualTo("Sat, 07 Mar 2026 05:04:03 GMT");
    }

    @Test
    void configNeverShowsTheSecret() {
        OssConfig config = OssConfig.of("https", "e", "b", "", AK, SK);
        assertThat(config.toString()).contains(AK).doesNotContain(SK).contains("<redacted>");
    }
}
