package dev.nydus4j.storage.blob;

import com.github.luben.zstd.Zstd;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Writes one RAFS v6 data blob strictly sequentially (the output may be a pipe; nothing is ever sought back to):
 *
 * <pre>
 * [chunk data, back to back][tar "image.blob"]
 * [chunk info array v1 (compressed if smaller)][blob.meta header 4096][tar "blob.meta"]
 * [chunk digests 32 × n][tar "blob.digest"]
 * ([zstd bootstrap][tar "image.boot"])          only when finish() is given a bootstrap
 * [ToC entries 128 × k][tar "rafs.blob.toc"]
 * </pre>
 *
 * Lifecycle: {@link #addChunk} any number of times (the caller has digested and deduplicated the chunks),
 * then {@link #sealChunks()} (writes everything up to blob.digest and returns the blob table entry the
 * bootstrap needs), then {@link #finish(byte[])} (optional inlined bootstrap and the ToC; returns the final
 * entry whose id is the SHA-256 of the whole stream). Memory stays bounded: besides the chunk being written only
 * 16 + 32 bytes per chunk are kept. The writer does not close {@code out}. Not thread-safe.
 */
public final class BlobWriter {
    private static final Logger LOG = LoggerFactory.getLogger(BlobWriter.class);

    /** Blob id placeholder upstream writes into bootstraps built before the blob is complete (spec 6.8). */
    public static final String PLACEHOLDER_BLOB_ID = "x".repeat(64);

    /** Builders stop below the 24-bit chunk index limit (spec 2.6). */
    static final int MAX_CHUNKS = 0xFF_FFFF - 1;
    static final int MIN_CHUNK_SIZE = 4096;
    static final int MAX_CHUNK_SIZE = 16 << 20;
    static final int ALIGNMENT = 4096;

    static final int BASE_FEATURES = BlobInfo.FEATURE_ALIGNED | BlobInfo.FEATURE_CAP_TAR_TOC
            | BlobInfo.FEATURE_HAS_TAR_HEADER | BlobInfo.FEATURE_HAS_TOC | BlobInfo.FEATURE_INLINED_CHUNK_DIGEST;

    private enum State { CHUNKS, SEALED, FINISHED }

    private final HashingOutputStream out;
    private final CompressionAlgorithm compressor;
    private final DigestAlgorithm digester;
    private final int chunkSize;

    /**
     * SHA-256 of the chunk data and its tar header: the ToC "image.blob" digest. These bytes are the start of the
     * blob, which {@link #out} hashes anyway, so its running digest is cloned at the end of the header instead of
     * hashing every chunk twice; null then. Only a JDK whose SHA-256 cannot be cloned hashes separately.
     */
    private final MessageDigest chunkDataSha;
    private byte[] chunkInfos = new byte[ChunkInfoV1.SIZE * 64];
    private final BlobDigestArray digests = new BlobDigestArray();
    private long nextUncompressedOffset;
    private State state = State.CHUNKS;

    private final List<BlobToc.Entry> tocEntries = new ArrayList<>();
    private BlobInfo sealed;
    /** Reused compression output of one chunk. */
    private final byte[] scratch;

    private BlobWriter(OutputStream out, CompressionAlgorithm compressor, DigestAlgorithm digester, int chunkSize) {
        this.out = new HashingOutputStream(out);
        this.chunkDataSha = this.out.canDigestSoFar() ? null : HashingOutputStream.sha256();
        this.compressor = compressor;
        this.digester = digester;
        this.chunkSize = chunkSize;
        this.scratch = new byte[compressor.maxCompressedLength(chunkSize)];
    }

    /**
     * Starts a blob on {@code out}.
     *
     * @param chunkSize the filesystem chunk size: a power of two in 4 KiB..16 MiB; no chunk may be larger
     */
    public static BlobWriter open(OutputStream out, CompressionAlgorithm compressor, DigestAlgorithm digester,
                                  int chunkSize) {
        Objects.requireNonNull(out, "out is null");
        Objects.requireNonNull(digester, "digester is null");
        Objects.requireNonNull(compressor, "compressor is null");
        if (compressor == CompressionAlgorithm.GZIP) {
            throw new IllegalArgumentException("gzip is not a blob compressor nydus4j writes; use zstd, lz4_block or none");
        }
        if (Integer.bitCount(chunkSize) != 1 || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
            throw new IllegalArgumentException("chunk size must be a power of two in 4096..16 MiB, got " + chunkSize);
        }
        return new BlobWriter(out, compressor, digester, chunkSize);
    }

    /**
     * Compresses (when strictly smaller) and appends one chunk of plain bytes {@code buf[off, off+len)}.
     *
     * @param digest the chunk's 32-byte digest with this blob's digest algorithm (recorded in blob.digest)
     * @return where the chunk was stored (index, offsets, sizes; crc32c 0)
     */
    public ChunkInfo addChunk(byte[] buf, int off, int len, byte[] digest) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        return addChunk(buf, off, len, scratch, compressor.compress(buf, off, len, scratch, 0), digest);
    }

    /**
     * Appends one chunk that the caller already compressed with this blob's {@link #compressor()} (so that
     * builders can compress on several threads while one thread writes).
     *
     * @param packed    the compressed bytes, {@code packed[0, packedLen)}
     * @param packedLen what {@link CompressionAlgorithm#compress(byte[], int, int, byte[], int)} returned: the
     *                  compressed length, or -1 to store the chunk raw
     */
    public ChunkInfo addChunk(byte[] buf, int off, int len, byte[] packed, int packedLen, byte[] digest)
            throws IOException {
        requireState(State.CHUNKS, "addChunk");
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len < 1 || len > chunkSize) {
            throw new IllegalArgumentException("chunk length must be 1.." + chunkSize + ", got " + len);
        }
        if (digest.length != DigestAlgorithm.DIGEST_SIZE) {
            throw new IllegalArgumentException("chunk digest must be 32 bytes, got " + digest.length);
        }
        int index = digests.count();
        if (index >= MAX_CHUNKS) {
            throw new IllegalStateException("blob is full: " + MAX_CHUNKS + " chunks (24-bit chunk index)");
        }
        long compressedOffset = out.position();
        if (compressedOffset + len > ChunkInfoV1.MAX_COMPRESSED_OFFSET) {
            throw new IllegalStateException("blob chunk data would exceed 1 TiB (v1 chunk info limit)");
        }
        if (packedLen >= len) {
            throw new IllegalArgumentException("compressed chunk of " + packedLen + " bytes is not smaller than its "
                    + len + " plain bytes; pass -1 to store it raw");
        }
        ChunkInfo info;
        if (packedLen > 0) {
            writeChunkData(packed, 0, packedLen);
            info = new ChunkInfo(index, compressedOffset, packedLen, nextUncompressedOffset, len, true, 0);
        } else {
            writeChunkData(buf, off, len);
            info = new ChunkInfo(index, compressedOffset, len, nextUncompressedOffset, len, false, 0);
        }
        if ((index + 1) * ChunkInfoV1.SIZE > chunkInfos.length) {
            chunkInfos = Arrays.copyOf(chunkInfos, chunkInfos.length * 2);
        }
        ChunkInfoV1.encode(info, chunkInfos, index * ChunkInfoV1.SIZE);
        digests.add(digest);
        nextUncompressedOffset = alignUp(nextUncompressedOffset + len);
        return info;
    }

    public int chunkCount() {
        return digests.count();
    }

    /** Algorithm chunks are compressed with. */
    public CompressionAlgorithm compressor() {
        return compressor;
    }

    /** Algorithm chunk digests are expected in. */
    public DigestAlgorithm digester() {
        return digester;
    }

    /**
     * Ends the chunk data and writes the image.blob tar header, blob.meta and blob.digest sections. Same as
     * {@code sealChunks(false)}: the blob.meta header will not claim INLINED_FS_META.
     */
    public BlobInfo sealChunks() throws IOException {
        return sealChunks(false);
    }

    /**
     * Ends the chunk data and writes the image.blob tar header, blob.meta and blob.digest sections.
     *
     * @param inlineBootstrap whether {@link #finish(byte[])} will be given a bootstrap: sets INLINED_FS_META in
     *                        the features recorded in the blob.meta header and the returned entry
     * @return the blob table entry for the bootstrap: id {@link #PLACEHOLDER_BLOB_ID}, index 0, chunk count,
     *         algorithms, features, uncompressed size and all ci_* fields final; compressedSize = bytes written so
     *         far; no ToC size/digest yet
     */
    public BlobInfo sealChunks(boolean inlineBootstrap) throws IOException {
        requireState(State.CHUNKS, "sealChunks");
        state = State.SEALED;
        int count = digests.count();
        long chunkDataSize = out.position();
        byte[] blobHeader = new TarHeader(TarHeader.IMAGE_BLOB, chunkDataSize).encode();
        out.write(blobHeader);
        byte[] imageBlobSha;
        if (chunkDataSha != null) {
            chunkDataSha.update(blobHeader);
            imageBlobSha = chunkDataSha.digest();
        } else {
            // the chunk data starts at offset 0 of the blob: the blob's running digest covers exactly it + header
            imageBlobSha = Objects.requireNonNull(out.digestSoFar(), "SHA-256 state cannot be cloned");
        }
        tocEntries.add(new BlobToc.Entry(BlobToc.FLAG_NONE, TarHeader.IMAGE_BLOB, imageBlobSha, 0,
                chunkDataSize, nextUncompressedOffset));

        int features = BASE_FEATURES | (inlineBootstrap ? BlobInfo.FEATURE_INLINED_FS_META : 0);
        int ciPlainSize = count * ChunkInfoV1.SIZE;
        byte[] ciPacked = compressor.compress(chunkInfos, 0, ciPlainSize);
        CompressionAlgorithm ciCompressor = ciPacked != null ? compressor : CompressionAlgorithm.NONE;
        byte[] ciStored = ciPacked != null ? ciPacked : Arrays.copyOf(chunkInfos, ciPlainSize);
        long ciOffset = out.position();
        BlobMetaHeader header = new BlobMetaHeader(features, ciCompressor.id(), count, ciOffset, ciStored.length,
                ciPlainSize, 0, 0, 0);
        byte[] headerBytes = header.encode();
        out.write(ciStored);
        out.write(headerBytes);
        out.write(new TarHeader(TarHeader.BLOB_META, ciStored.length + (long) BlobMetaHeader.SIZE).encode());
        tocEntries.add(new BlobToc.Entry(tocFlags(ciCompressor), TarHeader.BLOB_META,
                sha256(chunkInfos, 0, ciPlainSize), ciOffset, ciStored.length, ciPlainSize));
        tocEntries.add(new BlobToc.Entry(BlobToc.FLAG_NONE, BlobToc.BLOB_META_HEADER, sha256(headerBytes, 0,
                headerBytes.length), ciOffset + ciStored.length, BlobMetaHeader.SIZE, BlobMetaHeader.SIZE));
        chunkInfos = null;

        long digestOffset = out.position();
        out.write(digests.array(), 0, digests.byteLength());
        out.write(new TarHeader(TarHeader.BLOB_DIGEST, digests.byteLength()).encode());
        tocEntries.add(new BlobToc.Entry(BlobToc.FLAG_NONE, TarHeader.BLOB_DIGEST,
                sha256(digests.array(), 0, digests.byteLength()), digestOffset, digests.byteLength(),
                digests.byteLength()));

        sealed = new BlobInfo(PLACEHOLDER_BLOB_ID, 0, chunkSize, count, compressor.id(), digester.id(), features,
                out.position(), nextUncompressedOffset, 0, ciCompressor.id(), ciOffset, ciStored.length,
                ciPlainSize, new byte[32], new byte[32], 0);
        return sealed;
    }

    /**
     * Writes the optional inlined bootstrap (zstd-compressed, section image.boot) and the ToC, seals first if
     * needed, and flushes {@code out}.
     *
     * @param inlinedBootstrapOrNull the per-layer bootstrap to embed, or null
     * @return the final entry: blobId = hex SHA-256 of the whole stream, compressedSize = stream size, ToC size
     *         and digest, features with INLINED_FS_META iff a bootstrap was embedded
     */
    public BlobInfo finish(byte[] inlinedBootstrapOrNull) throws IOException {
        if (state == State.CHUNKS) {
            sealChunks(inlinedBootstrapOrNull != null);
        }
        requireState(State.SEALED, "finish");
        state = State.FINISHED;
        int features = sealed.features();
        if (inlinedBootstrapOrNull != null) {
            features |= BlobInfo.FEATURE_INLINED_FS_META;
            byte[] packed = Zstd.compress(inlinedBootstrapOrNull, CompressionAlgorithm.ZSTD_LEVEL);
            long bootOffset = out.position();
            out.write(packed);
            out.write(new TarHeader(TarHeader.IMAGE_BOOT, packed.length).encode());
            tocEntries.add(new BlobToc.Entry(BlobToc.FLAG_ZSTD, TarHeader.IMAGE_BOOT,
                    sha256(inlinedBootstrapOrNull, 0, inlinedBootstrapOrNull.length), bootOffset, packed.length,
                    inlinedBootstrapOrNull.length));
        }
        byte[] toc = new BlobToc(tocEntries).encode();
        byte[] tocHeader = new TarHeader(TarHeader.TOC, toc.length).encode();
        MessageDigest tocSha = HashingOutputStream.sha256();
        tocSha.update(toc);
        tocSha.update(tocHeader);
        out.write(toc);
        out.write(tocHeader);
        out.flush();
        String blobId = HexFormat.of().formatHex(out.digest());
        BlobInfo s = sealed;
        BlobInfo done = new BlobInfo(blobId, s.blobIndex(), s.chunkSize(), s.chunkCount(), s.compressionAlgo(),
                s.digestAlgo(), features, out.position(), s.uncompressedSize(), toc.length + TarHeader.SIZE,
                s.ciCompressor(), s.ciOffset(), s.ciCompressedSize(), s.ciUncompressedSize(), tocSha.digest(),
                new byte[32], 0);
        LOG.debug("blob {} finished: {} chunks, {} bytes, inlined bootstrap {}", blobId, done.chunkCount(),
                done.compressedSize(), inlinedBootstrapOrNull != null);
        return done;
    }

    private void writeChunkData(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        if (chunkDataSha != null) {
            chunkDataSha.update(b, off, len);
        }
    }

    private void requireState(State expected, String op) {
        if (state != expected) {
            throw new IllegalStateException(op + "() not allowed: blob writer is " + state + ", expected " + expected);
        }
    }

    static int tocFlags(CompressionAlgorithm c) {
        switch (c) {
            case NONE:
                return BlobToc.FLAG_NONE;
            case ZSTD:
                return BlobToc.FLAG_ZSTD;
            case LZ4_BLOCK:
                return BlobToc.FLAG_LZ4_BLOCK;
            default:
                throw new IllegalArgumentException("no ToC flag for " + c);
        }
    }

    static long alignUp(long v) {
        return (v + ALIGNMENT - 1) & -(long) ALIGNMENT;
    }

    static byte[] sha256(byte[] b, int off, int len) {
        MessageDigest md = HashingOutputStream.sha256();
        md.update(b, off, len);
        return md.digest();
    }
}
