package dev.nydus4j.storage;

import com.github.luben.zstd.Zstd;
import dev.nydus4j.api.CorruptImageException;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;

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
        if (len == 0) {
            return null;
        }
        byte[] out;
        switch (this) {
            case NONE:
                return null;
            case LZ4_BLOCK: {
                var c = LZ4Factory.fastestInstance().fastCompressor();
                byte[] buf = new byte[c.maxCompressedLength(len)];
                int n = c.compress(src, off, len, buf, 0, buf.length);
                out = n < len ? Arrays.copyOf(buf, n) : null;
                break;
            }
            case ZSTD: {
                byte[] buf = new byte[(int) Zstd.compressBound(len)];
                long n = Zstd.compressByteArray(buf, 0, buf.length, src, off, len, ZSTD_LEVEL);
                if (Zstd.isError(n)) {
                    throw new IllegalStateException("zstd compression failed: " + Zstd.getErrorName(n));
                }
                out = n < len ? Arrays.copyOf(buf, (int) n) : null;
                break;
            }
            case GZIP:
                throw new UnsupportedOperationException("gzip is supported for decoding legacy blobs only; use zstd or lz4_block");
            default:
                throw new AssertionError(this);
        }
        return out;
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
                    int n = LZ4Factory.fastestInstance().safeDecompressor()
                            .decompress(src, off, len, dst, dstOff, expectedLen);
                    if (n != expectedLen) {
                        throw new CorruptImageException(resource, -1,
                                "lz4_block chunk decoded to " + n + " bytes, expected " + expectedLen);
                    }
                    return;
                }
                case ZSTD: {
                    long n = Zstd.decompressByteArray(dst, dstOff, expectedLen, src, off, len);
                    if (Zstd.isError(n)) {
                        throw new CorruptImageException(resource, -1, "zstd chunk does not decode: " + Zstd.getErrorName(n));
                    }
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
}
