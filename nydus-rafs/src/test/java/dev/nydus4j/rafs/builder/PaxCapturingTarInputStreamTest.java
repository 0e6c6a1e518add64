package dev.nydus4j.rafs.builder;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PaxCapturingTarInputStreamTest {
    private static byte[] record(String key, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        int body = 1 + k.length + 1 + value.length + 1; // ' ' key '=' value '\n'
        int len = body + 1;
        while (String.valueOf(len).length() + body != len) {
            len = String.valueOf(len).length() + body;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(String.valueOf(len).getBytes(StandardCharsets.US_ASCII));
        out.write(' ');
        out.writeBytes(k);
        out.write('=');
        out.writeBytes(value);
        out.write('\n');
        return out.toByteArray();
    }

    @Test
    void keepsBinaryAndEmptyValuesExactly() {
        byte[] cap = {1, 0, 0, 2, (byte) 0xff, (byte) 0xc3, '\n', '=', 0};
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(record("path", "a/b".getBytes(StandardCharsets.UTF_8)));
        all.writeBytes(record("SCHILY.xattr.security.capability", cap));
        all.writeBytes(record("SCHILY.xattr.user.empty", new byte[0]));
        Map<String, byte[]> m = PaxCapturingTarInputStream.parse(all.toByteArray());
        assertThat(m).containsOnlyKeys("path", "SCHILY.xattr.security.capability", "SCHILY.xattr.user.empty");
        assertThat(m.get("SCHILY.xattr.security.capability")).isEqualTo(cap);
        assertThat(m.get("SCHILY.xattr.user.empty")).isEmpty();
    }

    @Test
    void stopsAtMalformedRecordsWithoutThrowing() {
        byte[] good = record("a", "1".getBytes(StandardCharsets.UTF_8));
        assertThat(PaxCapturingTarInputStream.parse("99999 a=1\n".getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(PaxCapturingTarInputStream.parse("x a=1\n".getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(PaxCapturingTarInputStream.parse("6 a1\n\n".getBytes(StandardCharsets.UTF_8))).isEmpty();
        assertThat(PaxCapturingTarInputStream.parse("2 ".getBytes(StandardCharsets.UTF_8))).isEmpty();
        ByteArrayOutputStream mixed = new ByteArrayOutputStream();
        mixed.writeBytes(good);
        mixed.writeBytes("garbage".getBytes(StandardCharsets.UTF_8));
        assertThat(PaxCapturingTarInputStream.parse(mixed.toByteArray())).containsOnlyKeys("a");
        assertThat(PaxCapturingTarInputStream.parse(new byte[0])).isEmpty();
    }
}
