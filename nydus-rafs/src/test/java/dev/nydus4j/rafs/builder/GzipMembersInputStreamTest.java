package dev.nydus4j.rafs.builder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class GzipMembersInputStreamTest {
    private static final Random RANDOM = new Random(20261128);

    /** Every test runs on both member decoders: the JDK's zlib and ISA-L (where libisal2 is installed). */
    enum Engine {
        JDK, ISAL;

        GzipMemberDecoder create() {
            if (this == JDK) {
                return new JdkGzipMemberDecoder();
            }
            assumeTrue(IsalGzipMemberDecoder.available(), "ISA-L (libisal2) is not installed");
            return new IsalGzipMemberDecoder();
        }
    }

    /** Half random bytes, half text: both stored and Huffman-coded deflate blocks. */
    private static byte[] data(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; ) {
            int piece = Math.min(n - i, 1 + RANDOM.nextInt(9000));
            if (RANDOM.nextBoolean()) {
                byte[] r = new byte[piece];
                RANDOM.nextBytes(r);
                System.arraycopy(r, 0, b, i, piece);
            } else {
                for (int k = 0; k < piece; k++) {
                    b[i + k] = (byte) ('a' + (k * 7 + i) % 13);
                }
            }
            i += piece;
        }
        return b;
    }

    private static byte[] gzip(byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(plain);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Reads everything with reads of random sizes (1 byte to 300 KiB, and single-byte read()). */
    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[300 << 10];
        while (true) {
            if (RANDOM.nextInt(50) == 0) {
                int c = in.read();
                if (c < 0) {
                    break;
                }
                out.write(c);
                continue;
            }
            int n = in.read(buf, 0, 1 + RANDOM.nextInt(buf.length));
            if (n < 0) {
                break;
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** A source that returns at most {@code max} bytes per read, as pipes and sockets do. */
    private static InputStream trickle(byte[] b, int max) {
        return new ByteArrayInputStream(b) {
            @Override
            public synchronized int read(byte[] buf, int off, int len) {
                return super.read(buf, off, Math.min(len, 1 + RANDOM.nextInt(max)));
            }
        };
    }

    /** The stream over {@code gz} whose first (up to) four bytes were read by the caller, as TarSource does. */
    private static GzipMembersInputStream open(Engine e, byte[] gz, int bufSize) throws IOException {
        int head = Math.min(4, gz.length);
        return new GzipMembersInputStream(new ByteArrayInputStream(gz, head, gz.length - head),
                Arrays.copyOf(gz, head), bufSize, e.create());
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void decodesWhatTheJdkDecodesForAnyReadAndBufferSize(Engine e) throws IOException {
        byte[] a = data(3 << 20);
        byte[] b = data(70_000);
        byte[] gz = concat(gzip(a), gzip(new byte[0]), gzip(b));
        byte[] expected;
        try (InputStream jdk = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            expected = jdk.readAllBytes();
        }
        assertThat(expected).isEqualTo(concat(a, b));
        for (int bufSize : new int[] {512, 4096, 1 << 18}) {
            // with and without bytes the caller read ahead
            try (InputStream in = new GzipMembersInputStream(trickle(gz, 10_000), new byte[0], bufSize, e.create())) {
                assertThat(readAll(in)).as("buffer %d", bufSize).isEqualTo(expected);
            }
            try (InputStream in = open(e, gz, bufSize)) {
                assertThat(readAll(in)).as("buffer %d", bufSize).isEqualTo(expected);
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void headerFieldsAreSkippedAndTheHeaderCrcIsChecked(Engine e) throws IOException {
        byte[] plain = "hello, gzip header fields\n".getBytes(StandardCharsets.US_ASCII);
        byte[] member = gzip(plain);
        // rebuild the member with FEXTRA, FNAME, FCOMMENT and FHCRC around the same deflate data and trailer
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        h.write(new byte[] {0x1f, (byte) 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3});
        h.write(new byte[] {5, 0, 'A', 'B', 1, 0, 'x'});
        h.writeBytes("name.tar\0".getBytes(StandardCharsets.US_ASCII));
        h.writeBytes("a comment\0".getBytes(StandardCharsets.US_ASCII));
        CRC32 crc = new CRC32();
        crc.update(h.toByteArray());
        int hcrc = (int) crc.getValue() & 0xffff;
        byte[] header = concat(h.toByteArray(), new byte[] {(byte) hcrc, (byte) (hcrc >>> 8)});
        byte[] full = concat(header, Arrays.copyOfRange(member, 10, member.length));
        try (InputStream in = open(e, full, 512)) {
            assertThat(in.readAllBytes()).isEqualTo(plain);
        }
        byte[] badHcrc = full.clone();
        badHcrc[header.length - 1] ^= 1;
        assertThatThrownBy(() -> open(e, badHcrc, 512))
                .isInstanceOf(ZipException.class).hasMessageContaining("header CRC");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void bytesAfterTheLastMemberThatAreNotGzipAreIgnoredLikeTheJdkDoes(Engine e) throws IOException {
        byte[] plain = data(100_000);
        byte[] gz = concat(gzip(plain), new byte[1024]);
        try (InputStream in = open(e, gz, 4096)) {
            assertThat(in.readAllBytes()).isEqualTo(plain);
        }
        try (InputStream jdk = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            assertThat(jdk.readAllBytes()).isEqualTo(plain);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void corruptTrailerDataAndTruncationFailWithTheOffset(Engine e) throws IOException {
        byte[] plain = data(200_000);
        byte[] gz = gzip(plain);
        byte[] badCrc = gz.clone();
        badCrc[gz.length - 8] ^= 0x40;
        assertThatThrownBy(() -> readAll(open(e, badCrc, 4096)))
                .isInstanceOf(ZipException.class)
                .hasMessageContaining("CRC-32").hasMessageContaining("at byte " + (gz.length - 8));
        byte[] badSize = gz.clone();
        badSize[gz.length - 1] ^= 0x01;
        assertThatThrownBy(() -> readAll(open(e, badSize, 4096)))
                .isInstanceOf(ZipException.class).hasMessageContaining("size");
        for (int cut : new int[] {gz.length - 3, gz.length - 8, gz.length / 2, 12}) {
            byte[] truncated = Arrays.copyOf(gz, cut);
            assertThatThrownBy(() -> readAll(open(e, truncated, 4096)))
                    .as("cut at %d", cut).isInstanceOf(EOFException.class).hasMessageContaining("truncated");
        }
        byte[] flipped = gz.clone();
        flipped[gz.length / 3] ^= 0x10;
        assertThatThrownBy(() -> readAll(open(e, flipped, 4096)))
                .isInstanceOf(IOException.class).hasMessageContaining("gzip");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void aSourceThatKeepsReturningNoDataFailsInsteadOfSpinning(Engine e) throws IOException {
        byte[] gz = gzip(data(50_000));
        InputStream stalled = new InputStream() {
            private int pos;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= 20) {
                    return 0; // breaks the InputStream contract after the header
                }
                int n = Math.min(len, 20 - pos);
                System.arraycopy(gz, pos, b, off, n);
                pos += n;
                return n;
            }
        };
        try (GzipMembersInputStream in = new GzipMembersInputStream(stalled, new byte[0], 512, e.create())) {
            assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class)
                    .hasMessageContaining("returned no data");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void notGzipOrEmptyInputIsRejected(Engine e) {
        assertThatThrownBy(() -> open(e, new byte[] {0x1f, (byte) 0x8c, 8}, 512))
                .isInstanceOf(ZipException.class).hasMessageContaining("not in gzip format");
        assertThatThrownBy(() -> open(e, new byte[] {0x1f, (byte) 0x8b, 7, 0, 0, 0, 0, 0, 0, 3}, 512))
                .isInstanceOf(ZipException.class).hasMessageContaining("compression method 7");
        assertThatThrownBy(() -> open(e, new byte[0], 512))
                .isInstanceOf(EOFException.class);
    }

    /** Whole output, or the failure's class: what a reader of the stream ends up with. */
    private static Object outcome(Engine e, byte[] gz) {
        try (InputStream in = open(e, gz, 4096)) {
            return Arrays.hashCode(in.readAllBytes());
        } catch (IOException ex) {
            return "failed";
        }
    }

    @Test
    void isalAndZlibAgreeOnCorruptedStreams() throws IOException {
        assumeTrue(IsalGzipMemberDecoder.available(), "ISA-L (libisal2) is not installed");
        byte[] gz = concat(gzip(data(300_000)), gzip(data(5_000)));
        Random random = new Random(7);
        int failed = 0;
        for (int round = 0; round < 300; round++) {
            byte[] bad = gz.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                bad[random.nextInt(bad.length)] ^= (byte) (1 + random.nextInt(255));
            }
            Object jdk = outcome(Engine.JDK, bad);
            assertThat(outcome(Engine.ISAL, bad)).as("round %d", round).isEqualTo(jdk);
            failed += "failed".equals(jdk) ? 1 : 0;
        }
        assertThat(failed).as("corruptions detected").isGreaterThan(250);
    }

    @Test
    void isalIsUsedWhereLibisalIsInstalled() {
        // CI installs libisal2 (scripts/install-test-deps.sh): there ISA-L must pass its self-test and be chosen
        assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libisal.so.2")), "libisal2 not installed");
        assertThat(IsalGzipMemberDecoder.available()).isTrue();
    }
}
