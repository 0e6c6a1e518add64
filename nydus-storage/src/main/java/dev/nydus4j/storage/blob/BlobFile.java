package dev.nydus4j.storage.blob;

import com.github.luben.zstd.ZstdInputStream;
import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Read access to the self-describing parts of a data blob file (RAFS spec 6): the tar-header section trailer,
 * the ToC, the blob.meta chunk information array and header, the blob.digest array and the inlined bootstrap.
 *
 * <p>{@link #open} walks the tar headers from the end of the file back to offset 0 (a blob whose last 512 bytes
 * are no GNU tar header is treated as a legacy blob without sections) and parses the ToC. Every section read
 * later is bounds-checked against the file and, when the ToC lists it, verified against the ToC size and
 * SHA-256. Errors are {@link CorruptImageException}s naming the file and the offset. Owns an open file handle;
 * thread-safe for concurrent reads.
 */
public final class BlobFile implements AutoCloseable {

    /** Cap for whole sections read into memory (the inlined bootstrap, digest and chunk info arrays). */
    static final long MAX_SECTION_SIZE = 1L << 30;

    /**
     * One section found by walking the tar headers.
     *
     * @param name       tar entry name
     * @param dataOffset blob offset of the section data
     * @param size       section data size (the tar header follows at dataOffset + size)
     */
    public record Section(String name, long dataOffset, long size) {
        public long headerOffset() {
            return dataOffset + size;
        }
    }

    private final Path path;
    private final String resource;
    private final FileChannel channel;
    private final long size;
    private final List<Section> sections;
    private final BlobToc toc;

    private BlobFile(Path path, FileChannel channel, long size, List<Section> sections, BlobToc toc) {
        this.path = path;
        this.resource = path.toString();
        this.channel = channel;
        this.size = size;
        this.sections = sections;
        this.toc = toc;
    }

    /** Opens {@code path}, walks its section trailer and parses its ToC (when present). */
    public static BlobFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            String res = path.toString();
            List<Section> sections = BlobTrailer.walk(ch, size, res);
            BlobToc toc = null;
            if (!sections.isEmpty() && sections.get(sections.size() - 1).name().equals(TarHeader.TOC)) {
                Section s = sections.get(sections.size() - 1);
                if (s.size() > (long) BlobToc.MAX_ENTRIES * BlobToc.ENTRY_SIZE) {
                    throw new CorruptImageException(res, s.dataOffset(), "ToC size " + s.size() + " exceeds "
                            + BlobToc.MAX_ENTRIES + " entries");
                }
                toc = BlobToc.parse(read(ch, size, s.dataOffset(), (int) s.size(), res), res, s.dataOffset());
                BlobTrailer.checkTocRanges(toc, size, res, s.dataOffset());
                BlobTrailer.checkSectionsListed(toc, sections, res);
            }
            return new BlobFile(path, ch, size, sections, toc);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** File size in bytes. */
    public long size() {
        return size;
    }

    /** Sections in file order (empty for a legacy blob without tar headers). */
    public List<Section> sections() {
        return sections;
    }

    public Optional<Section> section(String name) {
        return sections.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public Optional<BlobToc> toc() {
        return Optional.ofNullable(toc);
    }

    /** Size of the ToC section including its tar header (the blob table's blob_toc_size), or 0. */
    public int tocSize() {
        return toc == null ? 0 : toc.entries().size() * BlobToc.ENTRY_SIZE + TarHeader.SIZE;
    }

    /** SHA-256 of the ToC including its tar header (the blob table's blob_toc_digest), or 32 zero bytes. */
    public byte[] tocDigest() throws IOException {
        if (toc == null) {
            return new byte[32];
        }
        int n = tocSize();
        return BlobWriter.sha256(readRange(size - n, n), 0, n);
    }

    /**
     * Verifies every ToC entry: the stored data decompresses to its uncompressed size and SHA-256 (the
     * image.blob entry is hashed together with its tar header, as upstream does). Streams large sections.
     */
    public void verifyToc() throws IOException {
        if (toc == null) {
            return;
        }
        for (BlobToc.Entry e : toc.entries()) {
            if (e.name().equals(TarHeader.IMAGE_BLOB)) {
                MessageDigest md = HashingOutputStream.sha256();
                long len = e.compressedSize() + TarHeader.SIZE;
                if (len > size) {
                    throw new CorruptImageException(resource, 0, "ToC image.blob size " + e.compressedSize()
                            + " plus its tar header exceeds the blob size " + size);
                }
                ByteBuffer buf = ByteBuffer.allocate(1 << 20);
                for (long pos = 0; pos < len; ) {
                    buf.clear().limit((int) Math.min(buf.capacity(), len - pos));
                    readFully(buf, pos);
                    md.update(buf.array(), 0, buf.position());
                    pos += buf.position();
                }
                checkDigest(e, md.digest(), 0);
            } else {
                tocEntryData(e);
            }
        }
    }

    /**
     * Checks what a final blob table entry (one with a ToC size, i.e. from {@link BlobWriter#finish}) records
     * about the whole file: the file size (CAP_TAR_TOC) and the ToC size and SHA-256. Entries without a ToC size
     * (legacy blobs, or the {@link BlobWriter#sealChunks()} entry) are not checked.
     */
    public void verifyAgainst(BlobInfo blob) throws IOException {
        if (blob.tocSize() == 0) {
            return;
        }
        // an inlined layer bootstrap records the blob's size from before itself and the ToC were appended
        boolean inlined = blob.hasFeature(BlobInfo.FEATURE_INLINED_FS_META);
        if (blob.hasFeature(BlobInfo.FEATURE_CAP_TAR_TOC)
                && (inlined ? blob.compressedSize() > size : blob.compressedSize() != size)) {
            throw new CorruptImageException(resource, size, "blob file size " + size + " vs blob table size "
                    + blob.compressedSize());
        }
        if (toc == null) {
            throw new CorruptImageException(resource, -1, "blob table records a " + blob.tocSize()
                    + "-byte ToC but the blob has none");
        }
        if (blob.tocSize() != tocSize()) {
            throw new CorruptImageException(resource, size - tocSize(), "ToC size " + tocSize()
                    + " vs blob table " + blob.tocSize());
        }
        if (blob.tocDigest() != null && !MessageDigest.isEqual(blob.tocDigest(), new byte[32])
                && !MessageDigest.isEqual(blob.tocDigest(), tocDigest())) {
            throw new CorruptImageException(resource, size - tocSize(), "ToC SHA-256 "
                    + HexFormat.of().formatHex(tocDigest()) + " vs blob table "
                    + HexFormat.of().formatHex(blob.tocDigest()));
        }
    }

    /** Reads, decompresses and verifies the data of ToC entry {@code e}. */
    byte[] tocEntryData(BlobToc.Entry e) throws IOException {
        if (e.uncompressedSize() > MAX_SECTION_SIZE || e.compressedSize() > MAX_SECTION_SIZE) {
            throw new CorruptImageException(resource, e.compressedOffset(), "ToC entry '" + e.name() + "' size "
                    + e.uncompressedSize() + " exceeds the " + MAX_SECTION_SIZE + "-byte limit");
        }
        byte[] stored = readRange(e.compressedOffset(), (int) e.compressedSize());
        byte[] plain;
        switch (e.flags()) {
            case BlobToc.FLAG_NONE:
                plain = stored;
                break;
            case BlobToc.FLAG_ZSTD:
                plain = zstdStream(stored, (int) e.uncompressedSize(), e.name(), e.compressedOffset());
                break;
            case BlobToc.FLAG_LZ4_BLOCK:
                plain = new byte[(int) e.uncompressedSize()];
                CompressionAlgorithm.LZ4_BLOCK.decompress(stored, 0, stored.length, plain, 0, plain.length,
                        resource + " ToC entry " + e.name());
                break;
            default:
                throw new AssertionError(e.flags());
        }
        if (plain.length != e.uncompressedSize()) {
            throw new CorruptImageException(resource, e.compressedOffset(), "ToC entry '" + e.name()
                    + "' data is " + plain.length + " bytes vs expected " + e.uncompressedSize());
        }
        checkDigest(e, BlobWriter.sha256(plain, 0, plain.length), e.compressedOffset());
        return plain;
    }

    private void checkDigest(BlobToc.Entry e, byte[] actual, long offset) throws CorruptImageException {
        if (!MessageDigest.isEqual(actual, e.uncompressedDigest())) {
            throw new CorruptImageException(resource, offset, "ToC entry '" + e.name() + "' SHA-256 "
                    + HexFormat.of().formatHex(actual) + " vs expected "
                    + HexFormat.of().formatHex(e.uncompressedDigest()));
        }
    }

    /** Decodes a zstd stream (one or more frames) to exactly {@code expected} bytes. */
    private byte[] zstdStream(byte[] stored, int expected, String what, long offset) throws CorruptImageException {
        byte[] out = new byte[expected];
        try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(stored))) {
            int n = in.readNBytes(out, 0, expected);
            if (n != expected || in.read() != -1) {
                throw new CorruptImageException(resource, offset, "'" + what + "' zstd data does not decode to "
                        + "exactly " + expected + " bytes");
            }
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(resource, offset, "'" + what + "' zstd data does not decode: "
                    + e.getMessage(), e);
        }
        return out;
    }

    /**
     * The embedded per-layer bootstrap (INLINED_FS_META), decompressed and verified: through the ToC entry
     * {@code image.boot} when there is one, else the raw {@code image.boot} section.
     */
    public Optional<byte[]> inlinedBootstrap() throws IOException {
        if (toc != null) {
            Optional<BlobToc.Entry> e = toc.find(TarHeader.IMAGE_BOOT);
            if (e.isPresent()) {
                return Optional.of(tocEntryData(e.get()));
            }
        }
        Optional<Section> s = section(TarHeader.IMAGE_BOOT);
        if (s.isEmpty()) {
            return Optional.empty();
        }
        if (s.get().size() > MAX_SECTION_SIZE) {
            throw new CorruptImageException(resource, s.get().dataOffset(), "image.boot section too large");
        }
        byte[] data = readRange(s.get().dataOffset(), (int) s.get().size());
        // Without a ToC nothing records the compression; a bootstrap never starts with the zstd frame magic.
        if (data.length >= 4 && (data[0] & 0xff) == 0x28 && (data[1] & 0xff) == 0xb5 && (data[2] & 0xff) == 0x2f
                && (data[3] & 0xff) == 0xfd) {
            return Optional.of(zstdStreamUnknownSize(data, s.get().dataOffset()));
        }
        return Optional.of(data);
    }

    private byte[] zstdStreamUnknownSize(byte[] stored, long offset) throws CorruptImageException {
        try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(stored))) {
            byte[] out = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, MAX_SECTION_SIZE));
            if (in.read() != -1) {
                throw new CorruptImageException(resource, offset, "image.boot decodes to more than "
                        + MAX_SECTION_SIZE + " bytes");
            }
            return out;
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(resource, offset, "image.boot zstd data does not decode: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The blob.meta header of this blob, read from the end of its {@code blob.meta} section (or through the
     * ToC), without a blob table entry to compare with.
     */
    public Optional<BlobMetaHeader> metaHeader() throws IOException {
        Optional<Section> s = section(TarHeader.BLOB_META);
        if (s.isEmpty()) {
            return Optional.empty();
        }
        if (s.get().size() < BlobMetaHeader.SIZE) {
            throw new CorruptImageException(resource, s.get().dataOffset(), "blob.meta section of "
                    + s.get().size() + " bytes cannot hold the " + BlobMetaHeader.SIZE + "-byte header");
        }
        long at = s.get().headerOffset() - BlobMetaHeader.SIZE;
        byte[] raw = readRange(at, BlobMetaHeader.SIZE);
        if (toc != null) {
            Optional<BlobToc.Entry> e = toc.find(BlobToc.BLOB_META_HEADER);
            if (e.isPresent()) {
                checkDigest(e.get(), BlobWriter.sha256(raw, 0, raw.length), at);
            }
        }
        BlobMetaHeader h = BlobMetaHeader.parse(raw, 0, resource, at);
        if (h.ciOffset() != s.get().dataOffset() || h.ciCompressedSize() != at - s.get().dataOffset()) {
            throw new CorruptImageException(resource, at, "blob.meta header ci_offset " + h.ciOffset()
                    + " / ci_compressed_size " + h.ciCompressedSize() + " vs section at " + s.get().dataOffset()
                    + " of " + (at - s.get().dataOffset()) + " array bytes");
        }
        return Optional.of(h);
    }

    /**
     * A blob table entry reconstructed from this file alone (header, ToC, size): blob id = the file name,
     * algorithms from the caller. For tools that have a blob but no bootstrap.
     */
    public BlobInfo describe(int chunkSize, int compressionAlgo, int digestAlgo) throws IOException {
        BlobMetaHeader h = metaHeader().orElseThrow(() -> new CorruptImageException(resource, -1,
                "blob has no blob.meta section"));
        long uncompressedSize = toc == null ? 0
                : toc.find(TarHeader.IMAGE_BLOB).map(BlobToc.Entry::uncompressedSize).orElse(0L);
        return new BlobInfo(path.getFileName().toString(), 0, chunkSize, h.ciEntries(), compressionAlgo, digestAlgo,
                h.features(), size, uncompressedSize, tocSize(), h.ciCompressor(), h.ciOffset(),
                h.ciCompressedSize(), h.ciUncompressedSize(), tocDigest(), new byte[32], 0);
    }

    /** Chunk infos of this blob described by its own blob.meta header (see {@link #describe}). */
    public List<ChunkInfo> chunkInfos() throws IOException {
        return chunkInfos(selfDescribed());
    }

    /** {@link #blobMetaCacheBytes(BlobInfo)} for the blob as its own blob.meta header describes it. */
    public byte[] blobMetaCacheBytes() throws IOException {
        return blobMetaCacheBytes(selfDescribed());
    }

    /** Entry built from the header alone: no chunk size or uncompressed size known, so those bounds are open. */
    private BlobInfo selfDescribed() throws IOException {
        BlobMetaHeader h = metaHeader().orElseThrow(() -> new CorruptImageException(resource, -1,
                "blob has no blob.meta section"));
        return new BlobInfo(path.getFileName().toString(), 0, BlobWriter.MAX_CHUNK_SIZE, h.ciEntries(), 0, 0,
                h.features(), size, Long.MAX_VALUE, 0, h.ciCompressor(), h.ciOffset(), h.ciCompressedSize(),
                h.ciUncompressedSize(), new byte[32], new byte[32], 0);
    }

    /**
     * Decodes the chunk information array described by {@code blob} (ci_* fields; v1 or v2 per
     * CHUNK_INFO_V2) after validating the blob.meta header against it, and checks every entry: uncompressed
     * offsets consecutive and 4 KiB aligned (ALIGNED), sizes at most the chunk size, stored ranges inside the
     * chunk data region, uncompressed end within the blob's uncompressed size.
     */
    public List<ChunkInfo> chunkInfos(BlobInfo blob) throws IOException {
        return ChunkInfoArray.decode(blob, readChunkInfoArray(blob), size, resource);
    }

    /**
     * The {@code <blob id>.blob.meta} cache file nydusd keeps and converters ship next to the bootstrap
     * (spec 6.3, 10.2): the uncompressed chunk information array zero-padded to 4096 bytes, then the header.
     */
    public byte[] blobMetaCacheBytes(BlobInfo blob) throws IOException {
        byte[] plain = readChunkInfoArray(blob);
        ChunkInfoArray.decode(blob, plain, size, resource);
        int padded = (int) BlobWriter.alignUp(plain.length);
        byte[] out = Arrays.copyOf(plain, padded + BlobMetaHeader.SIZE);
        // Re-encoded from the validated fields, so reserved garbage in the stored header never propagates.
        byte[] header = BlobMetaHeader.parse(readRange(blob.ciOffset() + blob.ciCompressedSize(),
                BlobMetaHeader.SIZE), 0, resource, blob.ciOffset() + blob.ciCompressedSize()).encode();
        System.arraycopy(header, 0, out, padded, BlobMetaHeader.SIZE);
        return out;
    }

    private byte[] readChunkInfoArray(BlobInfo blob) throws IOException {
        verifyAgainst(blob);
        boolean v2 = blob.hasFeature(BlobInfo.FEATURE_CHUNK_INFO_V2);
        int entrySize = v2 ? ChunkInfoV2.SIZE : ChunkInfoV1.SIZE;
        long minPlain = (long) blob.chunkCount() * entrySize;
        if (blob.chunkCount() < 0 || blob.chunkCount() > BlobWriter.MAX_CHUNKS + 1) {
            throw new CorruptImageException(resource, -1, "chunk count " + blob.chunkCount() + " out of range");
        }
        boolean exact = !v2 || !blob.hasFeature(BlobInfo.FEATURE_BATCH | BlobInfo.FEATURE_ZRAN
                | BlobInfo.FEATURE_ENCRYPTED);
        if (exact ? blob.ciUncompressedSize() != minPlain : blob.ciUncompressedSize() < minPlain) {
            throw new CorruptImageException(resource, blob.ciOffset(), "ci_uncompressed_size "
                    + blob.ciUncompressedSize() + " vs " + blob.chunkCount() + " entries of " + entrySize + " bytes");
        }
        if (blob.ciUncompressedSize() > MAX_SECTION_SIZE || blob.ciCompressedSize() > MAX_SECTION_SIZE
                || blob.ciCompressedSize() < 0 || blob.ciOffset() < 0) {
            throw new CorruptImageException(resource, blob.ciOffset(), "chunk info array sizes out of range");
        }
        if (blob.ciCompressor() == 0 ? blob.ciCompressedSize() != blob.ciUncompressedSize()
                : blob.ciCompressedSize() > blob.ciUncompressedSize()) {
            throw new CorruptImageException(resource, blob.ciOffset(), "ci_compressed_size "
                    + blob.ciCompressedSize() + " inconsistent with ci_uncompressed_size "
                    + blob.ciUncompressedSize() + " and ci_compressor " + blob.ciCompressor());
        }
        long headerAt = blob.ciOffset() + blob.ciCompressedSize();
        if (headerAt > size - BlobMetaHeader.SIZE) {
            throw new CorruptImageException(resource, blob.ciOffset(), "chunk info array + blob.meta header ["
                    + blob.ciOffset() + ", " + (headerAt + BlobMetaHeader.SIZE) + ") beyond the blob end " + size);
        }
        byte[] stored = readRange(blob.ciOffset(), (int) blob.ciCompressedSize() + BlobMetaHeader.SIZE);
        Optional<BlobToc.Entry> headerEntry = toc == null ? Optional.empty() : toc.find(BlobToc.BLOB_META_HEADER);
        if (headerEntry.isPresent()) {
            checkDigest(headerEntry.get(), BlobWriter.sha256(stored, (int) blob.ciCompressedSize(),
                    BlobMetaHeader.SIZE), headerAt);
        }
        BlobMetaHeader header = BlobMetaHeader.parse(stored, (int) blob.ciCompressedSize(), resource, headerAt);
        header.validateAgainst(blob, resource, headerAt);
        CompressionAlgorithm ciAlgo;
        try {
            ciAlgo = CompressionAlgorithm.fromId(blob.ciCompressor());
        } catch (IllegalArgumentException e) {
            throw new CorruptImageException(resource, headerAt, e.getMessage(), e);
        }
        byte[] plain = new byte[(int) blob.ciUncompressedSize()];
        if (ciAlgo == CompressionAlgorithm.ZSTD) {
            byte[] p = zstdStream(Arrays.copyOf(stored, (int) blob.ciCompressedSize()), plain.length,
                    "chunk info array", blob.ciOffset());
            System.arraycopy(p, 0, plain, 0, plain.length);
        } else {
            ciAlgo.decompress(stored, 0, (int) blob.ciCompressedSize(), plain, 0, plain.length,
                    resource + " chunk info array at " + blob.ciOffset());
        }
        if (toc != null) {
            Optional<BlobToc.Entry> e = toc.find(TarHeader.BLOB_META);
            if (e.isPresent()) {
                checkDigest(e.get(), BlobWriter.sha256(plain, 0, plain.length), blob.ciOffset());
            }
        }
        return plain;
    }

    /**
     * The chunk digests of the blob.digest section (INLINED_CHUNK_DIGEST) in chunk-index order, verified
     * against the ToC when it lists the section; an empty array when the blob has no such section.
     */
    public byte[][] chunkDigests() throws IOException {
        byte[] data;
        long at;
        Optional<BlobToc.Entry> e = toc == null ? Optional.empty() : toc.find(TarHeader.BLOB_DIGEST);
        if (e.isPresent()) {
            data = tocEntryData(e.get());
            at = e.get().compressedOffset();
        } else {
            Optional<Section> s = section(TarHeader.BLOB_DIGEST);
            if (s.isEmpty()) {
                return new byte[0][];
            }
            if (s.get().size() > MAX_SECTION_SIZE) {
                throw new CorruptImageException(resource, s.get().dataOffset(), "blob.digest section too large");
            }
            at = s.get().dataOffset();
            data = readRange(at, (int) s.get().size());
        }
        BlobDigestArray digests = BlobDigestArray.parse(data, resource, at);
        Optional<BlobMetaHeader> h = metaHeader();
        if (h.isPresent() && h.get().ciEntries() != digests.count()) {
            throw new CorruptImageException(resource, at, "blob.digest holds " + digests.count()
                    + " digests vs " + h.get().ciEntries() + " chunks in blob.meta");
        }
        return digests.toArray();
    }

    /** Hex SHA-256 of the whole file: the blob id of a registry blob. */
    public String sha256Hex() throws IOException {
        MessageDigest md = HashingOutputStream.sha256();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        for (long pos = 0; pos < size; ) {
            buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
            readFully(buf, pos);
            md.update(buf.array(), 0, buf.position());
            pos += buf.position();
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Reads {@code len} bytes at {@code offset}, which must lie inside the file. */
    byte[] readRange(long offset, int len) throws IOException {
        return read(channel, size, offset, len, resource);
    }

    private void readFully(ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf, pos + buf.position());
            if (n < 0) {
                throw new CorruptImageException(resource, pos + buf.position(), "unexpected end of blob");
            }
        }
    }

    static byte[] read(FileChannel ch, long size, long offset, int len, String res) throws IOException {
        if (offset < 0 || len < 0 || offset > size || len > size - offset) {
            throw new CorruptImageException(res, offset, "range [" + offset + ", +" + len
                    + ") lies outside the " + size + "-byte blob");
        }
        ByteBuffer buf = ByteBuffer.allocate(len);
        while (buf.hasRemaining()) {
            int n = ch.read(buf, offset + buf.position());
            if (n < 0) {
                throw new CorruptImageException(res, offset + buf.position(), "unexpected end of blob",
                        new EOFException());
            }
        }
        return buf.array();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
