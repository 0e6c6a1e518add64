package dev.nydus4j.rafs.check;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v5.RafsV5Reader;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Validates an image the way {@code nydus-image check} does, and more strictly:
 * <ol>
 *   <li>the bootstrap with the strict readers (v5 also with every inode digest, spec 5.8);</li>
 *   <li>the served view (entry names, chunk lists, blob indexes) as {@link RafsImage} builds it;</li>
 *   <li>when blobs are given: each referenced blob's trailer/ToC against its blob table entry, every bootstrap
 *       chunk record against the blob's chunk information array and digest array (blobs with blob.meta), every
 *       stored range inside the blob file, and every distinct chunk read, decompressed and digest-verified.</li>
 * </ol>
 * The first problem stops the check with a {@link CorruptImageException} (or {@link java.io.FileNotFoundException}
 * for a missing blob). Stateless and thread-safe.
 */
public final class ImageChecker {
    private static final Logger LOG = LoggerFactory.getLogger(ImageChecker.class);

    private ImageChecker() {
    }

    /**
     * One referenced data blob.
     *
     * @param index            position in the blob table
     * @param blobId           blob id
     * @param compressedDataSize size of the chunk data region
     * @param compressedSize   blob (or chunk data) size recorded in the bootstrap, 0 when unknown (v5 without
     *                         extended table)
     * @param uncompressedSize uncompressed size recorded in the bootstrap
     * @param chunkSize        chunk size
     * @param chunkCount       chunk count recorded in the bootstrap (0 when unknown)
     * @param features         blob feature bits (spec 2.3)
     */
    public record BlobReport(int index, String blobId, long compressedDataSize, long compressedSize,
                             long uncompressedSize, int chunkSize, int chunkCount, int features) {
        /** Feature names as upstream prints them, e.g. {@code aligned cap_toc chunk-digest tar-header toc}. */
        public List<String> featureNames() {
            List<String> l = new ArrayList<>();
            FEATURE_NAMES.forEach((bit, name) -> {
                if ((features & bit) != 0) {
                    l.add(name);
                }
            });
            return l;
        }
    }

    /**
     * Outcome of a successful check.
     *
     * @param version         RAFS version (5 or 6)
     * @param inodes          number of inodes
     * @param blobs           referenced data blobs in blob-table order
     * @param blobsChecked    blobs whose data was verified
     * @param chunksVerified  distinct chunks read and verified
     * @param bytesVerified   plain bytes of those chunks
     */
    public record Report(int version, long inodes, List<BlobReport> blobs, int blobsChecked, long chunksVerified,
                         long bytesVerified) {
        /** The summary {@code nydus-image check} prints. */
        public String toText() {
            StringBuilder sb = new StringBuilder("RAFS filesystem metadata is valid, referenced data blobs: \n");
            for (BlobReport b : blobs) {
                sb.append(String.format("\t %d: %s, compressed data size 0x%x, compressed file size 0x%x,"
                                + " uncompressed file size 0x%x, chunks: 0x%x, features: %s%n", b.index(), b.blobId(),
                        b.compressedDataSize(), b.compressedSize(), b.uncompressedSize(), b.chunkCount(),
                        String.join(" ", b.featureNames())));
            }
            if (blobsChecked > 0) {
                sb.append(String.format("verified %d chunks (%d bytes) in %d blobs%n", chunksVerified, bytesVerified,
                        blobsChecked));
            }
            return sb.toString();
        }
    }

    /** Upstream's {@code format_blob_features} names, in its order. */
    private static final Map<Integer, String> FEATURE_NAMES = new LinkedHashMap<>();

    static {
        FEATURE_NAMES.put(BlobInfo.FEATURE_ALIGNED, "aligned");
        FEATURE_NAMES.put(BlobInfo.FEATURE_BATCH, "batch");
        FEATURE_NAMES.put(BlobInfo.FEATURE_CAP_TAR_TOC, "cap_toc");
        FEATURE_NAMES.put(BlobInfo.FEATURE_INLINED_CHUNK_DIGEST, "chunk-digest");
        FEATURE_NAMES.put(BlobInfo.FEATURE_CHUNK_INFO_V2, "chunk-v2");
        FEATURE_NAMES.put(BlobInfo.FEATURE_INLINED_FS_META, "fs-meta");
        FEATURE_NAMES.put(BlobInfo.FEATURE_SEPARATE, "separate");
        FEATURE_NAMES.put(BlobInfo.FEATURE_HAS_TAR_HEADER, "tar-header");
        FEATURE_NAMES.put(BlobInfo.FEATURE_HAS_TOC, "toc");
        FEATURE_NAMES.put(BlobInfo.FEATURE_ZRAN, "zran");
        FEATURE_NAMES.put(BlobInfo.FEATURE_ENCRYPTED, "encrypted");
    }

    /**
     * Size of the chunk data region (spec 6.1 "chunk data end"): 0 for SEPARATE blobs; the blob.meta offset
     * (minus its tar header) when the chunk information array is recorded; else the recorded blob size.
     */
    static long compressedDataSize(BlobInfo b) {
        if (b.hasFeature(BlobInfo.FEATURE_SEPARATE)) {
            return 0;
        }
        if (b.ciCompressedSize() > 0) {
            return b.hasFeature(BlobInfo.FEATURE_HAS_TAR_HEADER) ? b.ciOffset() - 512 : b.ciOffset();
        }
        return b.compressedSize();
    }

    /** Checks bootstrap metadata only. */
    public static Report check(Path bootstrap) throws IOException {
        return check(bootstrap, null);
    }

    /**
     * Checks a bootstrap and, when {@code blobs} is non-null, its data: {@code blobs} is a directory of files named
     * by blob id, or a single blob file used for every blob id.
     */
    public static Report check(Path bootstrap, Path blobs) throws IOException {
        Objects.requireNonNull(bootstrap, "bootstrap is null");
        byte[] bytes = Files.readAllBytes(bootstrap);
        String resource = bootstrap.toString();
        int version = Bootstraps.version(bytes, resource);
        RafsTree tree = version == 5 ? RafsV5Reader.read(bytes, resource, true) : Bootstraps.read(bytes, resource);
        return check(tree, version, blobs);
    }

    /** Checks an already-read tree (see {@link #check(Path, Path)}). */
    public static Report check(RafsTree tree, int version, Path blobs) throws IOException {
        List<BlobReport> reports = new ArrayList<>();
        for (BlobInfo b : tree.blobs) {
            reports.add(new BlobReport(b.blobIndex(), b.blobId(), compressedDataSize(b), b.compressedSize(),
                    b.uncompressedSize(), b.chunkSize(), b.chunkCount(), b.features()));
        }
        Map<Integer, Map<ChunkKey, ChunkRef>> chunksByBlob = distinctChunks(tree);
        long inodes;
        long verified = 0;
        long bytes = 0;
        int blobsChecked = 0;
        ChunkReader reader = blobs == null ? new NoBlobs()
                : Files.isDirectory(blobs) ? LocalChunkReader.forDirectory(blobs) : LocalChunkReader.forFile(blobs);
        try (RafsImage image = RafsImage.open(tree, version, reader, true)) {
            inodes = image.stats().inodes();
            if (blobs != null) {
                for (BlobInfo b : tree.blobs) {
                    Path file = Files.isDirectory(blobs) ? blobs.resolve(b.blobId()) : blobs;
                    Map<ChunkKey, ChunkRef> chunks = chunksByBlob.getOrDefault(b.blobIndex(), Map.of());
                    checkBlobLayout(b, file, chunks.values());
                    bytes += verifyChunks(reader, b, chunks.values(), tree.chunkSize);
                    verified += chunks.size();
                    blobsChecked++;
                }
            }
        }
        return new Report(version, inodes, List.copyOf(reports), blobsChecked, verified, bytes);
    }

    /**
     * Checks an already-read tree and reads every distinct chunk through {@code remote} (a storage backend:
     * nothing local to check the blob layout against), verifying each digest. The reader is closed.
     */
    public static Report check(RafsTree tree, int version, ChunkReader remote) throws IOException {
        Objects.requireNonNull(remote, "remote is null");
        Report layout = check(tree, version, (Path) null);
        Map<Integer, Map<ChunkKey, ChunkRef>> chunksByBlob = distinctChunks(tree);
        long verified = 0;
        long bytes = 0;
        try (ChunkReader r = remote) {
            for (BlobInfo b : tree.blobs) {
                Collection<ChunkRef> chunks = chunksByBlob.getOrDefault(b.blobIndex(), Map.of()).values();
                bytes += verifyChunks(r, b, chunks, tree.chunkSize);
                verified += chunks.size();
            }
        }
        return new Report(version, layout.inodes(), layout.blobs(), tree.blobs.size(), verified, bytes);
    }

    /** Reads (and so decompresses and digest-verifies) every chunk; returns the plain bytes verified. */
    private static long verifyChunks(ChunkReader reader, BlobInfo b, Collection<ChunkRef> chunks, int chunkSize)
            throws IOException {
        byte[] buf = new byte[Math.max(1, chunkSize)];
        long bytes = 0;
        for (ChunkRef c : chunks) {
            if (buf.length < c.info().uncompressedSize()) {
                buf = new byte[c.info().uncompressedSize()];
            }
            reader.readChunk(b, c.info(), c.digest(), buf);
            bytes += c.info().uncompressedSize();
        }
        LOG.debug("verified {} chunks of blob {}", chunks.size(), b.blobId());
        return bytes;
    }

    /** Trailer, ToC, chunk information array and digest array of one blob against the bootstrap's records. */
    private static void checkBlobLayout(BlobInfo b, Path file, Iterable<ChunkRef> chunks) throws IOException {
        String res = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException("blob " + b.blobId() + " (blob table entry " + b.blobIndex()
                    + ") not found at " + file + "; pass the directory holding the image's blobs");
        }
        long size = Files.size(file);
        // a blob whose layer bootstrap is inlined recorded its size before that bootstrap and the ToC were appended:
        // unless the converter passed the final size (merge --blob-sizes), the table holds that smaller size
        boolean inlined = b.hasFeature(BlobInfo.FEATURE_INLINED_FS_META);
        if (b.hasFeature(BlobInfo.FEATURE_CAP_TAR_TOC) && (inlined ? b.compressedSize() > size : b.compressedSize() != size)) {
            throw new CorruptImageException(res, -1, "blob file is " + size + " bytes, blob table says " + b.compressedSize());
        }
        for (ChunkRef c : chunks) {
            ChunkInfo i = c.info();
            if (i.compressedOffset() < 0 || i.compressedOffset() > size - i.compressedSize()) {
                throw new CorruptImageException(res, i.compressedOffset(), "chunk " + i.index() + " range [" + i.compressedOffset()
                        + ", +" + i.compressedSize() + ") lies outside the " + size + "-byte blob file");
            }
        }
        boolean hasMeta = b.ciCompressedSize() > 0 || b.hasFeature(BlobInfo.FEATURE_HAS_TAR_HEADER);
        if (!hasMeta) {
            return; // v5 / legacy blobs: the bootstrap records are the only chunk information
        }
        try (BlobFile bf = BlobFile.open(file)) {
            bf.verifyAgainst(b);
            if (b.ciCompressedSize() == 0) {
                return;
            }
            List<ChunkInfo> infos = bf.chunkInfos(b);
            byte[][] digests = bf.chunkDigests();
            for (ChunkRef c : chunks) {
                ChunkInfo want = c.info();
                if (want.index() < 0 || want.index() >= infos.size()) {
                    throw new CorruptImageException(res, -1, "bootstrap chunk index " + want.index() + " outside the blob's "
                            + infos.size() + " chunk infos");
                }
                ChunkInfo have = infos.get(want.index());
                if (have.compressedOffset() != want.compressedOffset() || have.compressedSize() != want.compressedSize()
                        || have.uncompressedOffset() != want.uncompressedOffset()
                        || have.uncompressedSize() != want.uncompressedSize() || have.compressed() != want.compressed()) {
                    throw new CorruptImageException(res, have.compressedOffset(), "chunk " + want.index()
                            + " differs between bootstrap " + want + " and blob.meta " + have);
                }
                if (digests.length > 0 && (want.index() >= digests.length || !Arrays.equals(digests[want.index()], c.digest()))) {
                    throw new CorruptImageException(res, -1, "chunk " + want.index() + " digest differs between bootstrap "
                            + HexFormat.of().formatHex(c.digest()) + " and blob.digest");
                }
            }
        }
    }

    private record ChunkKey(int blobIndex, long compressedOffset, int compressedSize, long uncompressedOffset, int index) {
    }

    private static Map<Integer, Map<ChunkKey, ChunkRef>> distinctChunks(RafsTree tree) throws CorruptImageException {
        Map<Integer, Map<ChunkKey, ChunkRef>> out = new LinkedHashMap<>();
        List<Node> stack = new ArrayList<>(List.of(tree.root));
        while (!stack.isEmpty()) {
            Node n = stack.remove(stack.size() - 1);
            for (ChunkRef c : n.inode().chunks) {
                ChunkInfo i = c.info();
                ChunkKey k = new ChunkKey(c.blobIndex(), i.compressedOffset(), i.compressedSize(), i.uncompressedOffset(), i.index());
                ChunkRef prev = out.computeIfAbsent(c.blobIndex(), x -> new LinkedHashMap<>()).putIfAbsent(k, c);
                if (prev != null && !Arrays.equals(prev.digest(), c.digest())) {
                    throw new CorruptImageException("bootstrap", -1, "chunk " + i.index() + " of blob " + c.blobIndex()
                            + " is recorded with two different digests");
                }
            }
            stack.addAll(n.children());
        }
        return out;
    }

    /** Metadata-only checks never read data. */
    private static final class NoBlobs implements ChunkReader {
        @Override
        public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
            throw new java.io.FileNotFoundException("no blobs given for a metadata-only check");
        }

        @Override
        public void close() {
        }
    }

}
