package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6DirectReader;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@link RafsFileSystem} over a bootstrap (v5 or v6) and a {@link ChunkReader} for its data blobs.
 *
 * <p>Opened from a tree ({@link #open}), the inode index is built once at open time and never changes; opened in
 * direct mode ({@link #openDirect}), RAFS v6 inodes are decoded from the bootstrap bytes on first use and cached.
 * Either way every method is thread-safe. File reads map
 * the byte range to chunks by binary search over file offsets, fetch each chunk through the chunk reader (which
 * decompresses and verifies it; the chunk digest from the bootstrap is passed when digest verification is on)
 * into a per-thread buffer, and copy the requested part. Ranges between v5 hole chunks read as zeros.
 *
 * <p>The image owns the chunk reader: {@link #close()} closes it (idempotently).
 */
public final class RafsImage implements RafsFileSystem {
    private static final Logger LOG = LoggerFactory.getLogger(RafsImage.class);
    private static final byte[] ZEROS = new byte[64 * 1024];

    private final String resource;
    private final int version;
    private final int chunkSize;
    private final List<BlobInfo> blobs;
    private final InodeSource index;
    /** The on-demand index when opened in direct mode ({@link #openDirect}), else null. */
    private final DirectIndex direct;
    /** The tree's prefetch paths (images opened from a tree). */
    private final List<String> prefetchPaths;
    private final boolean xattrFlag;
    private final ChunkReader chunkReader;
    private final boolean verifyDigests;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Per-thread decoded chunk: FUSE readers re-read the same chunk for consecutive small requests. */
    private final ThreadLocal<ChunkSlot> slots;

    private RafsImage(String resource, int version, RafsTree tree, ChunkReader chunkReader, boolean verifyDigests)
            throws CorruptImageException {
        this(resource, version, tree.chunkSize, tree.blobs, InodeIndex.build(tree, resource), null,
                List.copyOf(tree.prefetchPaths), tree.xattrFlag, chunkReader, verifyDigests);
        describeChunks();
    }

    private RafsImage(String resource, int version, int chunkSize, List<BlobInfo> blobs, InodeSource index,
                      DirectIndex direct, List<String> prefetchPaths, boolean xattrFlag, ChunkReader chunkReader,
                      boolean verifyDigests) throws CorruptImageException {
        this.resource = resource;
        this.version = version;
        this.chunkSize = chunkSize;
        this.blobs = List.copyOf(blobs);
        this.index = index;
        this.direct = direct;
        this.prefetchPaths = prefetchPaths;
        this.xattrFlag = xattrFlag;
        this.chunkReader = chunkReader;
        this.verifyDigests = verifyDigests;
        int bufSize = Math.max(index.maxChunkSize(), 1);
        this.slots = ThreadLocal.withInitial(() -> new ChunkSlot(bufSize));
    }

    /**
     * Direct mode: hands the chunk table to the chunk reader from a background thread, so that the image serves
     * at once. The table only lets the reader merge reads of neighbouring chunks (an optional hint, see
     * {@link ChunkReader#addChunks}): reads before it arrives are served unmerged, and a failure is logged, not
     * fatal. A close meanwhile makes the thread give up quietly.
     */
    private void describeChunksInBackground() {
        Thread t = new Thread(() -> {
            try {
                if (!closed.get()) {
                    describeChunks();
                }
            } catch (IOException | RuntimeException e) {
                if (!closed.get()) {
                    LOG.warn("{}: the chunk table was not handed to the chunk reader, reads are not merged: {}",
                            resource, e.getMessage());
                }
            }
        }, "rafs-chunk-layout");
        t.setDaemon(true);
        t.start();
    }

    /** Hands the chunk reader every blob's chunk table, so it can merge reads of neighbouring chunks. */
    private void describeChunks() throws CorruptImageException {
        List<List<ChunkInfo>> infos = new ArrayList<>();
        List<List<byte[]>> digests = new ArrayList<>();
        for (int b = 0; b < blobs.size(); b++) {
            infos.add(new ArrayList<>());
            digests.add(new ArrayList<>());
        }
        try {
            index.collectChunks(infos, digests);
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException e) {
            throw new CorruptImageException(resource, -1, "cannot list the chunks of the image: " + e.getMessage());
        }
        for (int b = 0; b < blobs.size(); b++) {
            if (!infos.get(b).isEmpty()) {
                try {
                    chunkReader.addChunks(blobs.get(b), infos.get(b), digests.get(b));
                } catch (IOException e) {
                    throw new CorruptImageException(resource, -1, "cannot describe the chunks of blob "
                            + blobs.get(b).blobId() + ": " + e.getMessage());
                }
            }
        }
    }

    /**
     * Opens a bootstrap file (v5 or v6, detected by {@link Bootstraps}) with chunk digest verification on.
     * On failure the chunk reader is closed.
     */
    public static RafsImage open(Path bootstrap, ChunkReader chunkReader) throws IOException {
        Objects.requireNonNull(chunkReader, "chunkReader is null");
        try {
            byte[] bytes = Bootstraps.readBytes(bootstrap);
            int version = Bootstraps.version(bytes, bootstrap.toString());
            RafsTree tree = Bootstraps.read(bytes, bootstrap.toString());
            RafsImage image = new RafsImage(bootstrap.toString(), version, tree, chunkReader, true);
            LOG.debug("opened RAFS v{} image {}", version, bootstrap);
            return image;
        } catch (IOException | RuntimeException e) {
            closeQuietlyAfter(chunkReader, e);
            throw e;
        }
    }

    /** Serves an in-memory tree (reported as RAFS v6) with chunk digest verification on. */
    public static RafsImage open(RafsTree tree, ChunkReader chunkReader) throws IOException {
        return open(tree, 6, chunkReader, true);
    }

    /**
     * Serves an in-memory tree.
     *
     * @param version       RAFS version to report in {@link #stats()}
     * @param verifyDigests pass each chunk's digest to the chunk reader for verification
     */
    public static RafsImage open(RafsTree tree, int version, ChunkReader chunkReader, boolean verifyDigests)
            throws IOException {
        Objects.requireNonNull(tree, "tree is null");
        Objects.requireNonNull(chunkReader, "chunkReader is null");
        try {
            return new RafsImage("in-memory tree", version, tree, chunkReader, verifyDigests);
        } catch (IOException | RuntimeException e) {
            closeQuietlyAfter(chunkReader, e);
            throw e;
        }
    }

    /**
     * Opens a bootstrap file for serving (nydusd) with chunk digest verification on: a RAFS v6 bootstrap in direct
     * mode (see {@link #openDirect(byte[], String, ChunkReader, boolean)}), a v5 one whole as {@link #open(Path,
     * ChunkReader)} does. On failure the chunk reader is closed.
     */
    public static RafsImage openDirect(Path bootstrap, ChunkReader chunkReader) throws IOException {
        Objects.requireNonNull(chunkReader, "chunkReader is null");
        byte[] bytes;
        try {
            bytes = Bootstraps.readBytes(bootstrap);
        } catch (IOException | RuntimeException e) {
            closeQuietlyAfter(chunkReader, e);
            throw e;
        }
        return openDirect(bytes, bootstrap.toString(), chunkReader, true);
    }

    /**
     * Opens bootstrap bytes (kept, not copied: not to be modified afterwards) for serving. A RAFS v6 bootstrap is
     * opened in direct mode: the superblocks and the blob and device tables are validated now, the chunk table on the
     * background thread that hands it to the chunk reader (see below; the first chunk lookup waits for it, and a
     * corrupt one fails every read); each inode, directory, xattr area, symlink target
     * and chunk list is decoded and validated with the whole-image reader's per-structure checks when first used, and a
     * corrupt one is a {@link CorruptImageException} naming the bootstrap and the offset or nid then. Served the
     * same as {@link #open(RafsTree, int, ChunkReader, boolean)} of the tree {@link Bootstraps#read} gives, except:
     * <ul>
     *   <li>checks that need the whole tree are not made: that structures do not overlap, that bytes between them
     *       are zero (locally, the padding and the next inode slot after each inode are checked, which catches a
     *       shrunk size), that no unreachable directory is malformed (a directory found in two places, or whose
     *       {@code ..} is not where it was found, is still corrupt when met);</li>
     *   <li>the link count of a non-directory is its on-disk {@code i_nlink} (the whole-image index counts its
     *       names; writers store that count);</li>
     *   <li>an image with an inode at nid 0 (renumbered by the whole-image index) is opened whole at open when
     *       its root is nid 0, and otherwise a directory entry naming nid 0 is reported corrupt when met;</li>
     *   <li>{@link #stats()}, {@link #inodeNumbers()} walk the whole tree on first use; {@link #prefetchPaths()}
     *       resolves the prefetch table then;</li>
     *   <li>the chunk reader is told about every chunk-table record (including any that no file refers to) by a
     *       background thread started at open, so reads right after open may not be merged yet.</li>
     * </ul>
     * A RAFS v5 bootstrap is read whole. On failure the chunk reader is closed.
     */
    public static RafsImage openDirect(byte[] bootstrap, String resource, ChunkReader chunkReader,
                                       boolean verifyDigests) throws IOException {
        Objects.requireNonNull(chunkReader, "chunkReader is null");
        long t0 = System.nanoTime();
        try {
            int version = Bootstraps.version(bootstrap, resource);
            RafsV6DirectReader reader = version == 6 ? RafsV6DirectReader.open(bootstrap, resource) : null;
            if (reader == null || reader.rootNid() == 0) {
                return new RafsImage(resource, version, Bootstraps.read(bootstrap, resource), chunkReader,
                        verifyDigests);
            }
            DirectIndex index = new DirectIndex(reader);
            RafsImage image = new RafsImage(resource, 6, reader.chunkSize(), reader.blobs(), index, index, List.of(),
                    reader.hasXattrFlag(), chunkReader, verifyDigests);
            image.getattr(index.rootIno()); // the root and its entries now: a bad root fails the open
            image.describeChunksInBackground();
            if (LOG.isDebugEnabled()) {
                LOG.debug("opened RAFS v6 image {} in direct mode in {} ms", resource,
                        (System.nanoTime() - t0) / 1_000_000);
            }
            return image;
        } catch (IOException | RuntimeException e) {
            closeQuietlyAfter(chunkReader, e);
            throw e;
        }
    }

    private static void closeQuietlyAfter(ChunkReader reader, Throwable primary) {
        try {
            reader.close();
        } catch (IOException | RuntimeException e) {
            primary.addSuppressed(e);
        }
    }

    /** Blob table of the image (immutable). */
    public List<BlobInfo> blobs() {
        return blobs;
    }

    @Override
    public long rootInode() {
        return index.rootIno();
    }

    private IndexedInode inode(long ino) throws IOException {
        IndexedInode i = index.get(ino);
        if (i == null) {
            throw new FileNotFoundException("no inode " + ino + " in " + resource);
        }
        return i;
    }

    @Override
    public InodeAttributes getattr(long ino) throws IOException {
        return inode(ino).attrs;
    }

    @Override
    public Optional<InodeAttributes> lookup(long parent, String name) throws IOException {
        IndexedInode dir = inode(parent);
        if (!dir.attrs.isDirectory()) {
            throw new IOException("inode " + parent + " of " + resource + " is not a directory");
        }
        if (name.equals(".")) {
            return Optional.of(dir.attrs);
        }
        if (name.equals("..")) {
            return Optional.of(inode(dir.parentIno).attrs);
        }
        long child = dir.child(InodeIndex.utf8(name));
        return child < 0 ? Optional.empty() : Optional.of(inode(child).attrs);
    }

    @Override
    public Optional<InodeAttributes> resolve(String path) throws IOException {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path must be absolute: '" + path + "'");
        }
        IndexedInode cur = inode(index.rootIno());
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (!cur.attrs.isDirectory()) {
                return Optional.empty();
            }
            Optional<InodeAttributes> next = lookup(cur.attrs.ino(), part);
            if (next.isEmpty()) {
                return next;
            }
            cur = inode(next.get().ino());
        }
        return Optional.of(cur.attrs);
    }

    @Override
    public List<DirEntry> readdir(long ino) throws IOException {
        IndexedInode dir = inode(ino);
        if (!dir.attrs.isDirectory()) {
            throw new IOException("inode " + ino + " of " + resource + " is not a directory");
        }
        return dir.dirents();
    }

    @Override
    public byte[] readlink(long ino) throws IOException {
        IndexedInode i = inode(ino);
        if (i.symlinkTarget == null) {
            throw new IOException("inode " + ino + " of " + resource + " is not a symlink");
        }
        return i.symlinkTarget.clone();
    }

    @Override
    public List<String> listxattr(long ino) throws IOException {
        return List.copyOf(inode(ino).xattrs.keySet());
    }

    @Override
    public Optional<byte[]> getxattr(long ino, String name) throws IOException {
        byte[] v = inode(ino).xattrs.get(name);
        return v == null ? Optional.empty() : Optional.of(v.clone());
    }

    @Override
    public int read(long ino, long offset, ByteBuffer dst) throws IOException {
        if (closed.get()) {
            throw new IOException("image " + resource + " is closed");
        }
        IndexedInode f = inode(ino);
        if (!f.attrs.isRegular()) {
            throw new IOException("inode " + ino + " of " + resource + " is not a regular file");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long size = f.attrs.size();
        if (offset >= size || !dst.hasRemaining()) {
            return 0;
        }
        long end = size - offset <= dst.remaining() ? size : offset + dst.remaining(); // no overflow near 2^63
        long pos = offset;
        while (pos < end) {
            int i = f.chunkAtOrBefore(pos);
            if (i >= 0 && pos < f.chunkOffsets[i] + f.chunks[i].info().uncompressedSize()) {
                ChunkRef c = f.chunks[i];
                int from = (int) (pos - c.fileOffset());
                int n = (int) Math.min(end - pos, c.info().uncompressedSize() - from);
                if (!readCached(c, from, dst, n)) {
                    dst.put(chunkBytes(c), from, n);
                }
                pos += n;
            } else {
                // a hole (v5 HAS_HOLE, or past the last chunk of a sparse file): zeros up to the next chunk
                long holeEnd = i + 1 < f.chunks.length ? Math.min(end, f.chunkOffsets[i + 1]) : end;
                while (pos < holeEnd) {
                    int n = (int) Math.min(holeEnd - pos, ZEROS.length);
                    dst.put(ZEROS, 0, n);
                    pos += n;
                }
            }
        }
        return (int) (end - offset);
    }

    /** Copies {@code n} bytes of a chunk from a local plain copy (blob cache) when the chunk reader has one. */
    private boolean readCached(ChunkRef c, int from, ByteBuffer dst, int n) throws IOException {
        ChunkSlot slot = slots.get();
        if (slot.holds(c)) {
            return false; // already decoded in this thread: copying from memory is cheaper
        }
        ByteBuffer part = dst.slice(dst.position(), n);
        if (!chunkReader.readCached(blobs.get(c.blobIndex()), c.info(), from, part)) {
            return false;
        }
        dst.position(dst.position() + n);
        return true;
    }

    private byte[] chunkBytes(ChunkRef c) throws IOException {
        ChunkSlot slot = slots.get();
        if (slot.holds(c)) {
            return slot.buf;
        }
        slot.invalidate();
        BlobInfo blob = blobs.get(c.blobIndex());
        try {
            chunkReader.readChunk(blob, c.info(), verifyDigests ? c.digest() : null, slot.buf);
        } catch (CorruptImageException | FileNotFoundException e) {
            throw e;
        } catch (IOException e) {
            throw new IOException("reading chunk " + c.info().index() + " of blob " + blob.blobId() + " for " + resource
                    + " failed: " + e.getMessage(), e);
        }
        slot.fill(c);
        return slot.buf;
    }

    /**
     * Whether the bootstrap's superblock carries HAS_XATTR (some inode has xattrs); always true for an image served
     * from an in-memory tree. nydusd answers xattr requests of images without it only when its config says so.
     */
    public boolean xattrFlag() {
        return xattrFlag;
    }

    /** The image's chunk size (no walk of the tree, unlike {@link #stats()} in direct mode). */
    public int chunkSize() {
        return chunkSize;
    }

    /**
     * {@inheritDoc} In direct mode the first call walks the whole tree to count inodes and data blocks (without
     * keeping what it decodes); if that walk meets a corrupt structure the figures are those found before it.
     */
    @Override
    public FsStats stats() {
        long[] c;
        try {
            c = index.counts();
        } catch (IOException e) {
            LOG.warn("statfs of {}: {}", resource, e.getMessage());
            c = new long[] {0, 0};
        }
        return new FsStats(version, c[0], InodeIndex.BLOCK_SIZE, c[1], chunkSize);
    }

    /** All inode numbers, ascending (for checkers and exporters; in direct mode this walks the whole tree). */
    public List<Long> inodeNumbers() throws IOException {
        long[] inos = index.sortedInos();
        List<Long> l = new ArrayList<>(inos.length);
        for (long ino : inos) {
            l.add(ino);
        }
        return l;
    }

    /**
     * Absolute paths of the bootstrap's prefetch table, in table order (for the daemon's prefetcher): the tree's
     * {@code prefetchPaths} for an image opened from a tree; in direct mode resolved now from the table's nids by a
     * breadth-first walk of the directories that stops once all are found.
     *
     * @throws CorruptImageException when a nid of the table is not an inode of the tree
     */
    public List<String> prefetchPaths() throws IOException {
        return direct != null ? direct.prefetchPaths() : prefetchPaths;
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            chunkReader.close();
        }
    }

    /** One thread's decoded chunk and what it holds. Confined to its thread. */
    private static final class ChunkSlot {
        final byte[] buf;
        private int blobIndex = -1;
        private ChunkInfo info;
        private byte[] digest;

        ChunkSlot(int size) {
            this.buf = new byte[size];
        }

        boolean holds(ChunkRef c) {
            return info != null && blobIndex == c.blobIndex() && info.equals(c.info()) && Arrays.equals(digest, c.digest());
        }

        void invalidate() {
            info = null;
        }

        void fill(ChunkRef c) {
            blobIndex = c.blobIndex();
            info = c.info();
            digest = c.digest();
        }
    }
}
