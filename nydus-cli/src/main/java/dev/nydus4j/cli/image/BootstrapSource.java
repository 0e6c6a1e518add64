package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.blob.BlobWriter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads image metadata from what the user names: a bootstrap file (v5 or v6) or a data blob whose metadata was
 * inlined with {@code --blob-inline-meta}; and opens the data blobs from {@code -D DIR} or {@code -b FILE}.
 */
final class BootstrapSource {
    /** RAFS v6 keeps the EROFS super block at 1024; v5 starts with its magic at 0. Blobs start with tar data. */
    private static final int PROBE_BYTES = 1024 + 8;

    private BootstrapSource() {
    }

    /** The metadata tree of {@code file}, which is either a bootstrap or a blob with an inlined bootstrap. */
    static RafsTree load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null, "bootstrap or blob file not found");
        }
        if (looksLikeBootstrap(file)) {
            return Bootstraps.read(file);
        }
        Optional<byte[]> inlined;
        try (BlobFile blobFile = BlobFile.open(file)) {
            inlined = blobFile.inlinedBootstrap();
        }
        if (inlined.isEmpty()) {
            throw new IllegalArgumentException(file + " is neither a RAFS bootstrap nor a blob with inlined metadata");
        }
        return Bootstraps.read(inlined.get(), file + "#image.boot");
    }

    /**
     * The metadata tree of a blob with inlined metadata, its own blob table entry completed: the bootstrap inside
     * a blob is written before the blob is finished, so it names the blob with the placeholder id and records only
     * the chunk data size (RAFS spec 6.8); here the entry gets the blob's real id (the sha256 of the file), its
     * whole size and its ToC digest and size, as a consumer that knows the file must fill them in.
     */
    static RafsTree loadInlined(Path blob) throws IOException {
        RafsTree tree = load(blob);
        for (int i = 0; i < tree.blobs.size(); i++) {
            BlobInfo b = tree.blobs.get(i);
            if (!b.blobId().equals(BlobWriter.PLACEHOLDER_BLOB_ID)) {
                continue;
            }
            try (BlobFile bf = BlobFile.open(blob)) {
                boolean toc = bf.toc().isPresent();
                tree.blobs.set(i, new BlobInfo(bf.sha256Hex(), b.blobIndex(), b.chunkSize(), b.chunkCount(),
                        b.compressionAlgo(), b.digestAlgo(), b.features(), bf.size(), b.uncompressedSize(),
                        toc ? bf.tocSize() : b.tocSize(), b.ciCompressor(), b.ciOffset(), b.ciCompressedSize(),
                        b.ciUncompressedSize(), toc ? bf.tocDigest() : b.tocDigest(), b.metaDigest(), b.metaSize()));
            }
        }
        return tree;
    }

    /** The bytes of the bootstrap held in {@code file} (a bootstrap itself, or a blob with inlined metadata). */
    static byte[] bootstrapBytes(Path file) throws IOException {
        if (looksLikeBootstrap(file)) {
            return Files.readAllBytes(file);
        }
        try (BlobFile blobFile = BlobFile.open(file)) {
            return blobFile.inlinedBootstrap().orElseThrow(() ->
                    new IllegalArgumentException(file + " is neither a RAFS bootstrap nor a blob with inlined metadata"));
        }
    }

    /** RAFS version (5 or 6) of a bootstrap, or of the bootstrap inlined in a blob. */
    static int version(Path file) throws IOException {
        return looksLikeBootstrap(file) ? Bootstraps.version(file)
                : Bootstraps.version(bootstrapBytes(file), file + " (inlined bootstrap)");
    }

    /** Hex sha256 of a whole blob file: the id of a blob whose metadata is inlined. */
    static String blobSha256(Path blob) throws IOException {
        try (BlobFile blobFile = BlobFile.open(blob)) {
            return blobFile.sha256Hex();
        }
    }

    /** Whether {@code file} starts like a RAFS v5 or v6 bootstrap (magic numbers, RAFS spec 3.1 / 5.1). */
    static boolean looksLikeBootstrap(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(PROBE_BYTES);
        }
        if (head.length >= 4 && le32(head, 0) == 0x5241_4653) { // v5 "RAFS"
            return true;
        }
        return head.length >= 1028 && le32(head, 1024) == 0xE0F5_E1E2; // EROFS super block magic
    }

    private static int le32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /** Chunk reader over {@code -D blobDir} or {@code -b blob}; null when neither is given. */
    static ChunkReader chunkReader(Path blobDir, Path blob) throws IOException {
        if (blobDir != null && blob != null) {
            throw new IllegalArgumentException("give either --blob-dir or --blob, not both");
        }
        if (blob != null) {
            if (!Files.isRegularFile(blob)) {
                throw new java.nio.file.NoSuchFileException(blob.toString(), null, "blob file not found");
            }
            return LocalChunkReader.forFile(blob);
        }
        if (blobDir != null) {
            if (!Files.isDirectory(blobDir)) {
                throw new IllegalArgumentException("--blob-dir " + blobDir + " does not exist or is not a directory");
            }
            return LocalChunkReader.forDirectory(blobDir);
        }
        return null;
    }
}
