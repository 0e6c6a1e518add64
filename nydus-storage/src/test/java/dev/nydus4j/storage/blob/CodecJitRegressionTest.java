package dev.nydus4j.storage.blob;

import dev.nydus4j.storage.ChunkInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The little-endian codecs keep round-tripping once C2 has compiled them: OpenJDK 17.0.15 dropped VarHandle
 * stores into fresh arrays after warm-up (see {@link LittleEndian}); this runs each encoder and decoder hot
 * enough to be compiled and checks every result.
 */
class CodecJitRegressionTest {

    @Test
    void encodersStayCorrectWhenHot() throws Exception {
        long seed = System.nanoTime();
        System.out.println("CodecJitRegressionTest seed " + seed);
        Random rnd = new Random(seed);
        byte[] ci = new byte[16];
        byte[] digest = new byte[32];
        for (int i = 0; i < 60_000; i++) {
            int usize = 1 + rnd.nextInt(1 << 24);
            int csize = 1 + rnd.nextInt(1 << 24);
            ChunkInfo c = new ChunkInfo(i, rnd.nextLong() & ((1L << 40) - 1), csize,
                    (rnd.nextLong() & 0xFFFF_FFFFL) << 12, usize, csize != usize, 0);
            ChunkInfoV1.encode(c, ci, 0);
            ChunkInfo back = ChunkInfoV1.decode(ci, 0, i);
            if (!c.equals(back)) {
                throw new AssertionError("seed " + seed + " iteration " + i + ": " + c + " -> " + back);
            }
            if (i % 4 == 0) {
                BlobMetaHeader h = new BlobMetaHeader(rnd.nextInt(), rnd.nextInt(4), rnd.nextInt(), rnd.nextLong(),
                        rnd.nextLong(), rnd.nextLong(), 0, 0, 0);
                BlobMetaHeader hb = BlobMetaHeader.parse(h.encode(), 0, "r", 0);
                if (!h.equals(hb)) {
                    throw new AssertionError("seed " + seed + " iteration " + i + ": " + h + " -> " + hb);
                }
                rnd.nextBytes(digest);
                BlobToc toc = new BlobToc(List.of(new BlobToc.Entry(BlobToc.FLAG_ZSTD, "image.boot", digest.clone(),
                        rnd.nextLong() >>> 1, rnd.nextLong() >>> 1, rnd.nextLong() >>> 1)));
                BlobToc.Entry e = BlobToc.parse(toc.encode(), "r", 0).entries().get(0);
                BlobToc.Entry orig = toc.entries().get(0);
                assertThat(e.compressedOffset()).isEqualTo(orig.compressedOffset());
                assertThat(e.compressedSize()).isEqualTo(orig.compressedSize());
                assertThat(e.uncompressedSize()).isEqualTo(orig.uncompressedSize());
                assertThat(e.flags()).isEqualTo(BlobToc.FLAG_ZSTD);
                assertThat(e.uncompressedDigest()).isEqualTo(digest);
            }
        }
    }
}
