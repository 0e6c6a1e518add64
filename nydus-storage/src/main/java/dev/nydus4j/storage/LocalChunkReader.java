package dev.nydus4j.storage;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * {@link ChunkReader} over blob files on the local filesystem: either a directory holding blobs named by their
 * blob id ({@link #forDirectory}), or one file that serves every blob id ({@link #forFile}).
 *
 * <p>Reads are positional {@link FileChannel} reads, so any number of threads share one open channel per blob;
 * channels are opened on first use, cached, and closed by {@link #close()}. A channel closed underneath us (a
 * reader thread was interrupted, which closes a FileChannel for every thread) is reopened once.
 *
 * <p>Every read is validated before anything is allocated: the stored range must lie inside the file (and
 * inside the chunk data region when the blob records it), sizes must be plausible, the bytes must decompress to
 * exactly the uncompressed size and match the CRC-32C / digest. Failures are {@link CorruptImageException}s
 * naming the blob id, the chunk index and the blob offset.
 */
public final class LocalChunkReader implements ChunkReader {
    private static final Logger LOG = LoggerFactory.getLogger(LocalChunkReader.class);

    /** Largest plain chunk (spec 2.6). */
    static final int MAX_CHUNK_SIZE = 16 << 20;
    /** Largest stored chunk accepted: the zstd/lz4 worst-case bound of a 16 MiB chunk is below this. */
    static final int MAX_STORED_SIZE = MAX_CHUNK_SIZE + (1 << 20);

    private final Path directory;
    private final Path singleFile;
    private final Map<String, FileChannel> channels = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private LocalChunkReader(Path directory, Path singleFile) {
        this.directory = directory;
        this.singleFile = singleFile;
    }

    /** Blobs are the files {@code blobDir/<blob id>}. */
    public static LocalChunkReader forDirectory(Path blobDir) {
        return new LocalChunkReader(java.util.Objects.requireNonNull(blobDir, "blobDir is null"), null);
    }

    /** Every blob id maps to {@code blobFile} (single-blob images, tests, blobs named differently). */
    public static LocalChunkReader forFile(Path blobFile) {
        return new LocalChunkReader(null, java.util.Objects.requireNonNull(blobFile, "blobFile is null"));
    }

    @Override
    public void readChunk(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst) throws IOException {
        String where = "blob " + blob.blobId() + " chunk " + info.index();
        checkRanges(blob, info, dst, where);
        CompressionAlgorithm algo = info.compressed() ? algorithm(blob, info, where) : CompressionAlgorithm.NONE;
        if (algo == CompressionAlgorithm.NONE) {
            readFully(blob.blobId(), where, info.compressedOffset(), ByteBuffer.wrap(dst, 0, info.uncompressedSize()));
        } else {
            byte[] stored = new byte[info.compressedSize()];
            readFully(blob.blobId(), where, info.compressedOffset(), ByteBuffer.wrap(stored));
            algo.decompress(stored, 0, stored.length, dst, 0, info.uncompressedSize(),
                    where + " at offset " + info.compressedOffset());
        }
        verifyCrc(info, dst, where);
        if (expectedDigest != null) {
            verifyDigest(blob, info, expectedDigest, dst, where);
        }
    }

    /** Validates sizes and the stored range before anything is allocated or read. */
    private static void checkRanges(BlobInfo blob, ChunkInfo info, byte[] dst, String where)
            throws CorruptImageException {
        int usize = info.uncompressedSize();
        int csize = info.compressedSize();
        long coff = info.compressedOffset();
        if (usize < 1 || usize > MAX_CHUNK_SIZE || usize > dst.length) {
            throw new CorruptImageException(where, coff, "uncompressed size " + usize + " outside 1.."
                    + Math.min(MAX_CHUNK_SIZE, dst.length));
        }
        if (csize < 1 || csize > MAX_STORED_SIZE || coff < 0) {
            throw new CorruptImageException(where, coff, "stored size " + csize + " or offset out of range");
        }
        if (!info.compressed() && csize != usize) {
            throw new CorruptImageException(where, coff, "uncompressed chunk stored with " + csize
                    + " bytes vs uncompressed size " + usize);
        }
        long dataEnd = chunkDataEnd(blob);
        if (coff + csize > dataEnd) {
            throw new CorruptImageException(where, coff, "stored range [" + coff + ", " + (coff + csize)
                    + ") beyond the chunk data end " + dataEnd);
        }
    }

    private static CompressionAlgorithm algorithm(BlobInfo blob, ChunkInfo info, String where)
            throws CorruptImageException {
        CompressionAlgorithm algo = null;
        for (CompressionAlgorithm a : CompressionAlgorithm.values()) {
            if (a.id() == blob.compressionAlgo()) {
                algo = a;
            }
        }
        if (algo == null) {
            throw new CorruptImageException(where, info.compressedOffset(), "unknown compression algorithm id "
                    + blob.compressionAlgo());
        }
        if (algo == CompressionAlgorithm.NONE && info.compressedSize() != info.uncompressedSize()) {
            throw new CorruptImageException(where, info.compressedOffset(), "chunk marked compressed in an "
                    + "uncompressed blob with stored size " + info.compressedSize() + " vs uncompressed size "
                    + info.uncompressedSize());
        }
        return algo;
    }

    private static void verifyCrc(ChunkInfo info, byte[] dst, String where) throws CorruptImageException {
        if (info.crc32c() == 0) {
            return;
        }
        CRC32C crc = new CRC32C();
        crc.update(dst, 0, info.uncompressedSize());
        if ((int) crc.getValue() != info.crc32c()) {
            throw new CorruptImageException(where, info.compressedOffset(), String.format(
                    "CRC-32C 0x%08x vs expected 0x%08x", (int) crc.getValue(), info.crc32c()));
        }
    }

    /*
     * Kept deliberately small and free of try/catch: OpenJDK 17.0.15's C2 crashed twice
     * (PhaseIdealLoop::identical_backtoback_ifs) while compiling earlier, larger shapes of this read path.
     */
    private static void verifyDigest(BlobInfo blob, ChunkInfo info, byte[] expectedDigest, byte[] dst, String where)
            throws CorruptImageException {
        DigestAlgorithm digester = digestAlgorithm(blob, info, where);
        byte[] actual = digester.digest(dst, 0, info.uncompressedSize());
        if (!Arrays.equals(actual, expectedDigest)) {
            throw new CorruptImageException(where, info.compressedOffset(), digester.configName() + " digest "
                    + HexFormat.of().formatHex(actual) + " vs expected " + HexFormat.of().formatHex(expectedDigest));
        }
    }

    private static DigestAlgorithm digestAlgorithm(BlobInfo blob, ChunkInfo info, String where)
            throws CorruptImageException {
        int id = blob.digestAlgo();
        if (id == DigestAlgorithm.BLAKE3.id()) {
            return DigestAlgorithm.BLAKE3;
        }
        if (id == DigestAlgorithm.SHA256.id()) {
            return DigestAlgorithm.SHA256;
        }
        throw new CorruptImageException(where, info.compressedOffset(), "unknown digest algorithm id " + id);
    }

    /** Spec 6.1: stored chunk ranges end before the blob.meta tar header (or the array) when recorded. */
    private static long chunkDataEnd(BlobInfo blob) {
        if (blob.ciOffset() > 0 && blob.hasFeature(BlobInfo.FEATURE_HAS_TAR_HEADER)) {
            return blob.ciOffset() - 512;
        }
        if (blob.ciOffset() > 0 && blob.hasFeature(BlobInfo.FEATURE_CAP_TAR_TOC)) {
            return blob.ciOffset();
        }
        return Long.MAX_VALUE;
    }

    private void readFully(String blobId, String where, long offset, ByteBuffer buf) throws IOException {
        for (int attempt = 0; ; attempt++) {
            FileChannel ch = channel(blobId);
            try {
                long size = ch.size();
                if (offset + buf.remaining() > size) {
                    throw new CorruptImageException(where, offset, "stored range [" + offset + ", "
                            + (offset + buf.remaining()) + ") beyond the end of the " + size + "-byte blob file");
                }
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, offset + buf.position());
                    if (n < 0) {
                        throw new CorruptImageException(where, offset + buf.position(), "unexpected end of blob file");
                    }
                }
                return;
            } catch (ClosedChannelException e) {
                channels.remove(blobId, ch);
                if (closed || attempt > 0) {
                    throw e;
                }
                LOG.debug("channel of blob {} was closed underneath (interrupted reader); reopening", blobId);
                buf.position(0);
            }
        }
    }

    private FileChannel channel(String blobId) throws IOException {
        if (closed) {
            throw new IOException("chunk reader is closed");
        }
        FileChannel ch = channels.get(blobId);
        if (ch != null) {
            return ch;
        }
        Path file = resolve(blobId);
        FileChannel opened;
        try {
            opened = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw (FileNotFoundException) new FileNotFoundException("blob " + blobId + " not found at " + file)
                    .initCause(e);
        }
        FileChannel raced = channels.putIfAbsent(blobId, opened);
        if (raced != null) {
            opened.close();
            return raced;
        }
        if (closed) {
            // close() ran concurrently and may have missed this channel.
            channels.remove(blobId, opened);
            opened.close();
            throw new IOException("chunk reader is closed");
        }
        return opened;
    }

    private Path resolve(String blobId) throws IOException {
        if (singleFile != null) {
            return singleFile;
        }
        if (blobId.isEmpty() || blobId.contains("/") || blobId.contains("\\") || blobId.equals(".")
                || blobId.equals("..") || blobId.indexOf('\0') >= 0) {
            throw new FileNotFoundException("blob id '" + blobId + "' is not a valid file name");
        }
        Path file = directory.resolve(blobId);
        if (!Files.isRegularFile(file)) {
            throw new FileNotFoundException("blob " + blobId + " not found in " + directory);
        }
        return file;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        IOException first = null;
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        channels.clear();
        if (first != null) {
            throw first;
        }
    }
}
