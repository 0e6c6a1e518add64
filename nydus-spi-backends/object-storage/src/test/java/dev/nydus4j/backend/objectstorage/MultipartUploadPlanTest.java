package dev.nydus4j.backend.objectstorage;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a multipart upload is cut: the part size fits the 10000-part limit; options are range-checked. */
class MultipartUploadPlanTest {
    private static final long MIB = 1L << 20;

    @Test
    void partSizeIsRaisedToWholeMibWhenTenThousandPartsWouldNotDo() {
        assertThat(MultipartUpload.partSizeFor(100 * MIB, 32 * MIB)).isEqualTo(32 * MIB);
        assertThat(MultipartUpload.partSizeFor(10_000 * 32 * MIB, 32 * MIB)).as("exactly 10000 parts")
                .isEqualTo(32 * MIB);
        long big = 10_000 * 32 * MIB + 1;
        long raised = MultipartUpload.partSizeFor(big, 32 * MIB);
        assertThat(raised).isEqualTo(33 * MIB);
        assertThat((big + raised - 1) / raised).isLessThanOrEqualTo(MultipartUpload.MAX_PARTS);
        long fiveTib = 5L << 40;
        long p = MultipartUpload.partSizeFor(fiveTib, 32 * MIB);
        assertThat(p % MIB).isZero();
        assertThat((fiveTib + p - 1) / p).isLessThanOrEqualTo(MultipartUpload.MAX_PARTS);
        assertThat(p).isLessThanOrEqualTo(MultipartUpload.MAX_PART_SIZE);
    }

    @Test
    void optionsOutOfRangeAreRefusedNamingTheValue() {
        Duration d = Duration.ofMillis(1);
        var md5 = MultipartUpload.PayloadDigest.MD5;
        assertThatThrownBy(() -> new MultipartUpload.Options(0, 3, 3, d, md5)).hasMessageContaining("part size 0");
        assertThatThrownBy(() -> new MultipartUpload.Options(MultipartUpload.MAX_PART_SIZE + 1, 3, 3, d, md5))
                .hasMessageContaining("part size");
        assertThatThrownBy(() -> new MultipartUpload.Options(MIB, 0, 3, d, md5)).hasMessageContaining("parallelism 0");
        assertThatThrownBy(() -> new MultipartUpload.Options(MIB, 3, 11, d, md5)).hasMessageContaining("attempts 11");
    }

    @Test
    void queryValuesAreEncodedAsSigV4Wants() {
        assertThat(MultipartUpload.encode("2~a.b_c-D+/= é")).isEqualTo("2~a.b_c-D%2B%2F%3D%20%C3%A9");
    }
}
