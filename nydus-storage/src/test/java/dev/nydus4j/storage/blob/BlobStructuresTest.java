package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Golden bytes, sizes and validation of the small blob structures (RAFS spec 6.2–6.9). */
class BlobStructuresTest {

    @Test
    void tarHeaderGoldenBytes() throws Exception {
        byte[] h = new TarHeader("blob.digest", 64).encode();
        assertThat(h).hasSize(512);
        assertThat(new String(h, 0, 11, StandardCharsets.US_ASCII)).isEqualTo("blob.digest");
        assertThat(Arrays.copyOfRange(h, 11, 124)).containsOnly(0);
        assertThat(new String(h, 124, 12, StandardCharsets.US_ASCII)).isEqualTo("00000000100\0");
        assertThat(new String(h, 136, 12, StandardCharsets.US_ASCII)).isEqualTo("00000000000\0");
        assertThat(h[156]).isEqualTo((byte) '0');
        assertThat(new String(h, 257, 8, StandardCharsets.US_ASCII)).isEqualTo("ustar  \0");
        assertThat(Arrays.copyOfRange(h, 265, 512)).containsOnly(0);
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        assertThat(new String(h, 148, 8, StandardCharsets.US_ASCII)).isEqualTo(String.format("%07o\0", sum));
        assertThat(TarHeader.parse(h, 0, "t", 0)).isEqualTo(new TarHeader("blob.digest", 64));
    }

    @Test
    void tarHeaderRejectsDamage() {
        byte[] good = new TarHeader("rafs.blob.toc", 512).encode();
        for (int pos : new int[] {0, 5, 124, 130, 148, 156, 257, 300, 511}) {
            byte[] h = good.clone();
            h[pos] ^= 0x04;
            assertThatThrownBy(() -> TarHeader.parse(h, 0, "blob-x", 1000)).as("flip at %d", pos)
                    .isInstanceOf(CorruptImageException.class).hasMessageContaining("blob-x");
        }
        assertThatThrownBy(() -> new TarHeader("", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TarHeader("x", -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tarHeaderSizesBeyondEightGiBUseBase256() throws Exception {
        for (long size : new long[] {077777777777L, 1L << 33, 5L << 40}) {
            byte[] h = new TarHeader("image.blob", size).encode();
            assertThat(TarHeader.parse(h, 0, "r", 0).size()).isEqualTo(size);
        }
        byte[] big = new TarHeader("image.blob", 1L << 33).encode();
        assertThat(big[124] & 0xff).isEqualTo(0x80);
        assertThat(Arrays.copyOfRange(big, 124, 136))
                .containsExactly(0x80 - 256, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0);
    }

    @Test
    void chunkInfoV1BitLayout() {
        // usize-1 = 0xABCDE1 -> low 20 bits 0xBCDE1 at 44.., high 4 bits 0xA at 8..; offset 0x123456000.
        ChunkInfo c = new ChunkInfo(0, 0xFF_1234_5678L, 0x12345 + 1, 0x1_2345_6000L, 0xABCDE1 + 1, true, 0);
        byte[] b = new byte[16];
        ChunkInfoV1.encode(c, b, 0);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bb.getLong(0)).isEqualTo((0xBCDE1L << 44) | 0x1_2345_6000L | (0xAL << 8));
        assertThat(bb.getLong(8)).isEqualTo((0x12345L << 44) | (0x0L << 40) | 0xFF_1234_5678L);
        assertThat(ChunkInfoV1.decode(b, 0, 0)).isEqualTo(c);
    }

    @Test
    void chunkInfoV1RandomRoundTrip() {
        long seed = System.nanoTime();
        System.out.println("chunkInfoV1RandomRoundTrip seed " + seed);
        Random rnd = new Random(seed);
        byte[] b = new byte[16 * 3];
        for (int i = 0; i < 10_000; i++) {
            int usize = 1 + rnd.nextInt(1 << 24);
            int csize = 1 + rnd.nextInt(1 << 24);
            boolean compressed = csize != usize;
            ChunkInfo c = new ChunkInfo(i, rnd.nextLong() & ((1L << 40) - 1), csize,
                    (rnd.nextLong() & 0xFFFF_FFFFL) << 12, usize, compressed, 0);
            ChunkInfoV1.encode(c, b, 16);
            assertThat(ChunkInfoV1.decode(b, 16, i)).as("seed %d", seed).isEqualTo(c);
        }
        ChunkInfo max = new ChunkInfo(1, (1L << 40) - 1, 1 << 24, 0xFFFF_FFFFL << 12, 1 << 24, false, 0);
        ChunkInfoV1.encode(max, b, 0);
        assertThat(ChunkInfoV1.decode(b, 0, 1)).isEqualTo(max);
    }

    @Test
    void chunkInfoV1RejectsWhatItCannotRepresent() {
        byte[] b = new byte[16];
        assertThatThrownBy(() -> ChunkInfoV1.encode(new ChunkInfo(0, 0, 10, 4097, 10, false, 0), b, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkInfoV1.encode(new ChunkInfo(0, 0, 10, 0, 10, true, 0), b, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkInfoV1.encode(new ChunkInfo(0, 0, 10, 0, 10, false, 5), b, 0))
                .as("v1 carries no CRC").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkInfoV1.encode(new ChunkInfo(0, 1L << 40, 10, 0, 10, false, 0), b, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChunkInfoV1.encode(new ChunkInfo(0, 0, (1 << 24) + 1, 0, 10, true, 0), b, 0))
                .isInstanceOf(IllegalArgumentException.class);
        b[0] = 1;
        assertThat(ChunkInfoV1.decode(b, 0, 0)).as("reserved bits").isNull();
    }

    private static byte[] v2(long w0, long w1, long w2) {
        return ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(w0).putLong(w1).putLong(w2).array();
    }

    @Test
    void chunkInfoV2Decode() throws Exception {
        long w0 = (0x11L << 56) | ((4096L - 1) << 32) | 5; // COMPRESSED|HAS_CRC32, usize 4096, offset 5*4096
        long w1 = (1234L << 40) | 777;
        ChunkInfo c = ChunkInfoV2.decode(v2(w0, w1, 0xCAFEBABEL), 0, 3, "b", 0);
        assertThat(c).isEqualTo(new ChunkInfo(3, 777, 1234, 5 * 4096, 4096, true, 0xCAFEBABE));
        ChunkInfo raw = ChunkInfoV2.decode(v2((99L << 32), (100L << 40) | 8, 0), 0, 0, "b", 0);
        assertThat(raw).isEqualTo(new ChunkInfo(0, 8, 100, 0, 100, false, 0));
    }

    @Test
    void chunkInfoV2RejectsUnsupportedAndInconsistent() {
        for (long flag : new long[] {0x02, 0x04, 0x08, 0x20, 0x80}) {
            assertThatThrownBy(() -> ChunkInfoV2.decode(v2((flag << 56) | (9L << 32), (10L << 40), 0), 0, 7, "blob-q",
                    48)).isInstanceOf(CorruptImageException.class).hasMessageContaining("chunk 7")
                    .hasMessageContaining("blob-q");
        }
        assertThatThrownBy(() -> ChunkInfoV2.decode(v2((9L << 32), (11L << 40), 0), 0, 0, "b", 0))
                .as("raw with differing sizes").isInstanceOf(CorruptImageException.class);
        assertThatThrownBy(() -> ChunkInfoV2.decode(v2((0x10L << 56) | (9L << 32), (10L << 40), 0), 0, 0, "b", 0))
                .as("CRC 0").isInstanceOf(CorruptImageException.class);
        assertThatThrownBy(() -> ChunkInfoV2.decode(v2((0x01L << 56) | (9L << 32), 0, 0), 0, 0, "b", 0))
                .as("stored size 0").isInstanceOf(CorruptImageException.class);
    }

    @Test
    void blobMetaHeaderLayout() throws Exception {
        BlobMetaHeader h = new BlobMetaHeader(0x7000_0021, 3, 2, 8314, 30, 32, 0, 0, 0);
        byte[] b = h.encode();
        assertThat(b).hasSize(4096);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bb.getInt(0)).isEqualTo(0xB10BB10B);
        assertThat(bb.getInt(4)).isEqualTo(0x7000_0021);
        assertThat(bb.getInt(8)).isEqualTo(3);
        assertThat(bb.getInt(12)).isEqualTo(2);
        assertThat(bb.getLong(16)).isEqualTo(8314);
        assertThat(bb.getLong(24)).isEqualTo(30);
        assertThat(bb.getLong(32)).isEqualTo(32);
        assertThat(Arrays.copyOfRange(b, 40, 4092)).containsOnly(0);
        assertThat(bb.getInt(4092)).isEqualTo(0xB10BB10B);
        assertThat(BlobMetaHeader.parse(b, 0, "r", 0)).isEqualTo(h);
        b[4093] ^= 1;
        assertThatThrownBy(() -> BlobMetaHeader.parse(b, 0, "r", 77)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("magic");
        BlobInfo info = new BlobInfo("a".repeat(64), 0, 1 << 20, 2, 3, 0, 0x7000_0021, 1, 1, 0, 3, 8314, 30, 32,
                new byte[32], new byte[32], 0);
        h.validateAgainst(info, "r", 0);
        BlobInfo other = new BlobInfo("a".repeat(64), 0, 1 << 20, 3, 3, 0, 0x7000_0021, 1, 1, 0, 3, 8314, 30, 48,
                new byte[32], new byte[32], 0);
        assertThatThrownBy(() -> h.validateAgainst(other, "r", 0)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("ci_entries 2 vs blob table 3");
    }

    @Test
    void tocRoundTripAndValidation() throws Exception {
        byte[] d = new byte[32];
        d[0] = 1;
        BlobToc toc = new BlobToc(List.of(new BlobToc.Entry(BlobToc.FLAG_NONE, "image.blob", d, 0, 10, 4096),
                new BlobToc.Entry(BlobToc.FLAG_ZSTD, "image.boot", d, 600, 20, 8192)));
        byte[] b = toc.encode();
        assertThat(b).hasSize(256);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bb.getInt(128)).isEqualTo(2);
        assertThat(new String(b, 136, 10, StandardCharsets.US_ASCII)).isEqualTo("image.boot");
        assertThat(b[152]).isEqualTo((byte) 1);
        assertThat(bb.getLong(128 + 56)).isEqualTo(600);
        assertThat(bb.getLong(128 + 64)).isEqualTo(20);
        assertThat(bb.getLong(128 + 72)).isEqualTo(8192);
        BlobToc back = BlobToc.parse(b, "r", 0);
        assertThat(back.entries()).hasSize(2);
        assertThat(back.find("image.boot").orElseThrow().uncompressedSize()).isEqualTo(8192);
        assertThat(back.encode()).isEqualTo(b);
        byte[] reserved = b.clone();
        reserved[4] = (byte) 0xff;
        reserved[100] = 0x30;
        assertThat(BlobToc.parse(reserved, "r", 0).encode()).as("reserved bytes ignored").isEqualTo(b);
        byte[] badFlags = b.clone();
        badFlags[0] = 3;
        assertThatThrownBy(() -> BlobToc.parse(badFlags, "r", 0)).isInstanceOf(CorruptImageException.class);
        assertThatThrownBy(() -> BlobToc.parse(Arrays.copyOf(b, 200), "r", 0)).isInstanceOf(CorruptImageException.class);
    }
}
