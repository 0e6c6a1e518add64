package dev.nydus4j.storage;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import dev.nydus4j.api.CorruptImageException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Chunk compression algorithms with their on-disk ids (RAFS spec 2.1). Every instance is thread-safe.
 */
public enum CompressionAlgorithm {
    NONE(0, "none"),
    LZ4_BLOCK(1, "lz4_block"),
    GZIP(2, "gzip"),
    ZSTD(3, "zstd");

    /** zstd level used by upstream's one-shot API ("default level"). */
    public static final int ZSTD_LEVEL = 3;

    private final int id;
    private final String configName;

    CompressionAlgorithm(int id, String configName) {
        this.id = id;
        this.configName = configName;
    }

    /** Id stored in blob tables and blob.meta headers. */
    public int id() {
        return id;
    }

    /** Name used on command lines and in configs ({@code none, lz4_block, gzip, zstd}). */
    public String configName() {
        return configName;
    }

    public static CompressionAlgorithm fromId(int id) {
        for (CompressionAlgorithm a : values()) {
            if (a.id == id) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown compression algorithm id " + id + "; known: 0 none, 1 lz4_block, 2 gzip, 3 zstd");
    }

    public static CompressionAlgorithm fromName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (CompressionAlgorithm a : values()) {
            if (a.configName.equals(n)) {
                return a;
            }
        }
        if (n.equals("lz4")) {
            return LZ4_BLOCK;
        }
        throw new IllegalArgumentException("unknown compressor '" + name + "'; supported: none, lz4_block, zstd (gzip: decode only)");
    }

    /**
     * Compresses {@code src[off, off+len)}. Returns the compressed bytes, or {@code null} when the result would
     * not be strictly smaller than the input (the caller then stores the chunk raw, spec 2.1) or for {@link #NONE}.
     */
    public byte[] compress(byte[] src, int off, int len) {
        if (len == 0 || this == NONE) {
            return null;
        }
        byte[] buf = new byte[maxCompressedLength(len)];
        int n = compress(src, off, len, buf, 0);
        return n < 0 ? null : Arrays.copyOf(buf, n);
    }

    /** Room {@link #compress(byte[], int, int, byte[], int)} needs in its destination for {@code len} bytes. */
    public int maxCompressedLength(int len) {
        switch (this) {
            case NONE:
                return len;
            case LZ4_BLOCK:
                return Codecs.LZ4_COMPRESSOR.maxCompressedLength(len);
            case ZSTD:
                return Math.toIntExact(Zstd.compressBound(len));
            case GZIP:
                return len + (len >>> 3) + 64;
            default:
                throw new AssertionError(this);
        }
    }

    /**
     * Compresses {@code src[off, off+len)} into {@code dst} at {@code dstOff} (which needs
     * {@link #maxCompressedLength} bytes of room) without allocating: reuses a per-thread zstd context and the
     * shared lz4 compressor.
     *
     * @return the compressed length, or -1 when it would not be strictly smaller than {@code len} (store raw),
     *         for {@link #NONE}, and for empty input
     */
    public int compress(byte[] src, int off, int len, byte[] dst, int dstOff) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        if (len == 0) {
            return -1;
        }
        int n;
        switch (this) {
            case NONE:
                return -1;
            case LZ4_BLOCK:
                n = Codecs.LZ4_COMPRESSOR.compress(src, off, len, dst, dstOff, dst.length - dstOff);
                break;
            case ZSTD:
                n = Codecs.ZSTD_COMPRESS.get().compressByteArray(dst, dstOff, dst.length - dstOff, src, off, len);
                break;
            case GZIP:
                throw new UnsupportedOperationException("gzip is supported for decoding legacy blobs only; use zstd or lz4_block");
            default:
                throw new AssertionError(this);
        }
        return n < len ? n : -1;
    }

    /**
     * Decompresses exactly {@code expectedLen} bytes into {@code dst[dstOff, dstOff+expectedLen)}.
     *
     * @param resource names the blob/chunk for error messages
     * @throws CorruptImageException when the input is malformed or does not decode to exactly expectedLen bytes
     */
    public void decompress(byte[] src, int off, int len, byte[] dst, int dstOff, int expectedLen, String resource)
            throws CorruptImageException {
        try {
            switch (this) {
                case NONE: {
                    if (len != expectedLen) {
                        throw new CorruptImageException(resource, -1,
                                "uncompressed chunk size mismatch: stored " + len + " vs expected " + expectedLen);
                    }
                    System.arraycopy(src, off, dst, dstOff, len);
                    return;
                }
                case LZ4_BLOCK: {
                    int n = Codecs.LZ4_DECOMPRESSOR.decompress(src, off, len, dst, dstOff, expectedLen);
                    if (n != expectedLen) {
                        throw new CorruptImageException(resource, -1,
                                "lz4_block chunk decoded to " + n + " bytes, expected " + expectedLen);
                    }
                    return;
                }
                case ZSTD: {
                    int n = Codecs.ZSTD_DECOMPRESS.get().decompressByteArray(dst, dstOff, expectedLen, src, off, len);
                    if (n != expectedLen) {
                        throw new CorruptImageException(resource, -1,
                                "zstd chunk decoded to " + n + " bytes, expected " + expectedLen);
                    }
                    return;
                }
                case GZIP: {
                    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(src, off, len))) {
                        int n = in.readNBytes(dst, dstOff, expectedLen);
                        if (n != expectedLen || in.read() != -1) {
                            throw new CorruptImageException(resource, -1,
                                    "gzip chunk does not decode to exactly " + expectedLen + " bytes");
                        }
                    }
                    return;
                }
                default:
                    throw new AssertionError(this);
            }
        } catch (LZ4Exception e) {
            throw new CorruptImageException(resource, -1, "lz4_block chunk does not decode: " + e.getMessage(), e);
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(resource, -1, configName + " chunk does not decode: " + e.getMessage(), e);
        }
    }

    /**
     * Codec instances, created on first use (so that merely naming an algorithm loads no native library). The
     * lz4 instances are thread-safe; zstd contexts are not, hence one per thread, reused across chunks because
     * creating a context per call costs more than compressing a small chunk.
     */
    private static final class Codecs {
        static final LZ4Compressor LZ4_COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
        static final LZ4SafeDecompressor LZ4_DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();
        static final ThreadLocal<ZstdCompressCtx> ZSTD_COMPRESS =
                ThreadLocal.withInitial(() -> new ZstdCompressCtx().setLevel(ZSTD_LEVEL));
        static final ThreadLocal<ZstdDecompressCtx> ZSTD_DECOMPRESS = ThreadLocal.withInitial(ZstdDecompressCtx::new);

        private Codecs() {
        }
    }
}
