package dev.nydus4j.rafs.v5;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.v6.ChunkRecord;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a RAFS v5 bootstrap (RAFS spec 5) into a {@link RafsTree}, strictly: every table, index, name, link and
 * chunk record is bounded and checked before use (spec 5.2–5.7 [R]); optionally every inode digest (5.8).
 *
 * <p>{@link Inode#ino} is the record's {@code i_ino}; hard links (records sharing an i_ino) share one Inode.
 * Directory inodes keep the stored {@code i_size}. Stateless and thread-safe.
 */
public final class RafsV5Reader {
    /** Bootstraps above this size are rejected before reading them into memory (spec 2.6: v5 is below 2 GiB). */
    static final long MAX_BOOTSTRAP_SIZE = (1L << 31) - 8;
    private static final int MAX_NAME = 255;

    private RafsV5Reader() {
    }

    /** Reads a bootstrap file without inode-digest verification (nydusd's default). */
    public static RafsTree read(Path bootstrap) throws IOException {
        long size = Files.size(bootstrap);
        if (size > MAX_BOOTSTRAP_SIZE) {
            throw new CorruptImageException(bootstrap.toString(), -1,
                    "bootstrap is " + size + " bytes; RAFS v5 bootstraps are below 2 GiB");
        }
        return read(Files.readAllBytes(bootstrap), bootstrap.toString());
    }

    /** Reads bootstrap bytes without inode-digest verification; {@code resource} names them in errors. */
    public static RafsTree read(byte[] bytes, String resource) throws CorruptImageException {
        return read(bytes, resource, false);
    }

    /**
     * Reads bootstrap bytes.
     *
     * @param verifyInodeDigests also check every record's {@code i_digest} (spec 5.8)
     * @throws CorruptImageException naming the resource, the offset and expected against found values
     */
    public static RafsTree read(byte[] bytes, String resource, boolean verifyInodeDigests) throws CorruptImageException {
        ByteBuffer image = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < RafsV5SuperBlock.SIZE) {
            throw new CorruptImageException(resource, -1,
                    "bootstrap is " + bytes.length + " bytes, smaller than the " + RafsV5SuperBlock.SIZE + "-byte v5 superblock");
        }
        RafsV5SuperBlock sb = RafsV5SuperBlock.wrap(image);
        sb.validate(resource, bytes.length);
        List<BlobInfo> blobs = RafsV5BlobTable.parse(image, sb, resource);
        return new Walk(image, sb, blobs, resource, verifyInodeDigests).run();
    }

    /** True when {@code bytes} start with the RAFS v5 magic. */
    public static boolean hasMagic(byte[] bytes) {
        return RafsV5SuperBlock.hasMagic(ByteBuffer.wrap(bytes));
    }

    /** One parse of one bootstrap; holds the per-index state. */
    private static final class Walk {
        private final ByteBuffer image;
        private final RafsV5SuperBlock sb;
        private final List<BlobInfo> blobs;
        private final String resource;
        private final boolean verifyDigests;
        private final int entries;
        private final int fileSize;
        private final int chunkSize;
        private final long tablesEnd;
        private final RafsV5InodeRecord rec;
        private final CompressionAlgorithm compressor;
        private final DigestAlgorithm digester;
        /** Record [start, end) per inode index (1-based); start 0 = not yet visited. */
        private final int[] recStart;
        private final int[] recEnd;
        private final Map<Long, Inode> inodesByIno = new HashMap<>();
        private final Map<Long, String> pathByIno = new HashMap<>();

        Walk(ByteBuffer image, RafsV5SuperBlock sb, List<BlobInfo> blobs, String resource, boolean verifyDigests)
                throws CorruptImageException {
            this.image = image;
            this.sb = sb;
            this.blobs = blobs;
            this.resource = resource;
            this.verifyDigests = verifyDigests;
            this.fileSize = image.capacity();
            long n = sb.inodeTableEntries();
            // every entry needs its own record of at least 128 bytes: bound before allocating per-index arrays
            if (n > (fileSize - RafsV5SuperBlock.SIZE) / RafsV5InodeRecord.SIZE) {
                throw new CorruptImageException(resource, RafsV5SuperBlock.INODE_TABLE_ENTRIES_OFFSET,
                        "inode_table_entries " + n + " cannot fit: at most " + (fileSize - RafsV5SuperBlock.SIZE)
                                / RafsV5InodeRecord.SIZE + " records of 128 bytes fit in the bootstrap");
            }
            this.entries = (int) n;
            this.chunkSize = sb.blockSize();
            this.tablesEnd = sb.tablesEnd();
            this.rec = new RafsV5InodeRecord(image);
            this.compressor = sb.compressor();
            this.digester = sb.digester();
            this.recStart = new int[entries + 1];
            this.recEnd = new int[entries + 1];
        }

        RafsTree run() throws CorruptImageException {
            Parsed root = parse(1, 0, "/");
            if (!root.inode.isDirectory()) {
                throw new CorruptImageException(resource, root.offset, "root inode (index 1) is not a directory");
            }
            Node rootNode = new Node(new byte[0], root.inode);
            ArrayDeque<PendingDir> queue = new ArrayDeque<>();
            queue.add(new PendingDir(root, rootNode, "/"));
            while (!queue.isEmpty()) {
                PendingDir item = queue.poll();
                Parsed dir = item.record();
                Node dirNode = item.node();
                String dirPath = item.path();
                byte[] prevName = null;
                DigestAlgorithm.Hasher hasher = verifyDigests ? digester.newHasher() : null;
                for (long i = 0; i < dir.childCount; i++) {
                    int idx = (int) (dir.childIndex + i);
                    String childPath = (dirPath.equals("/") ? "/" : dirPath + "/");
                    Parsed child = parse(idx, dir.ino, null);
                    childPath += new String(child.name, StandardCharsets.UTF_8);
                    if (prevName != null && Arrays.compareUnsigned(prevName, child.name) >= 0) {
                        throw new CorruptImageException(resource, child.offset,
                                "directory '" + dirPath + "' children are not strictly sorted by name bytes at index " + idx);
                    }
                    prevName = child.name;
                    Node childNode = new Node(child.name, child.inode);
                    dirNode.putChild(childNode);
                    pathByIno.putIfAbsent(child.ino, childPath);
                    if (hasher != null) {
                        hasher.update(child.digest, 0, child.digest.length);
                    }
                    if (child.inode.isDirectory()) {
                        queue.add(new PendingDir(child, childNode, childPath));
                    }
                }
                if (hasher != null) {
                    checkDigest(dir, hasher.finish());
                }
            }
            for (int i = 1; i <= entries; i++) {
                if (recStart[i] == 0) {
                    throw new CorruptImageException(resource, sb.inodeTableOffset() + 4L * (i - 1),
                            "inode index " + i + " is not reachable from the root directory");
                }
            }
            checkRecordsDisjoint();
            RafsTree tree = new RafsTree(rootNode);
            tree.blobs.addAll(blobs);
            tree.chunkSize = chunkSize;
            tree.compressor = compressor;
            tree.digester = digester;
            tree.explicitUidGid = sb.explicitUidGid();
            tree.xattrFlag = sb.hasXattrFlag();
            tree.prefetchPaths.addAll(prefetchPaths());
            return tree;
        }

        private List<String> prefetchPaths() throws CorruptImageException {
            List<String> paths = new ArrayList<>();
            long off = sb.prefetchTableOffset();
            for (long i = 0; i < sb.prefetchTableEntries(); i++) {
                long at = off + 4 * i;
                long ino = Integer.toUnsignedLong(image.getInt((int) at));
                if (ino == 0) {
                    break;
                }
                String p = ino == 1 ? "/" : pathByIno.get(ino);
                if (p == null) {
                    throw new CorruptImageException(resource, at, "prefetch table names inode " + ino + ", which does not exist");
                }
                paths.add(p);
            }
            return paths;
        }

        private void checkRecordsDisjoint() throws CorruptImageException {
            long[] ranges = new long[entries];
            for (int i = 1; i <= entries; i++) {
                ranges[i - 1] = ((long) recStart[i] << 32) | i;
            }
            Arrays.sort(ranges);
            int prevEnd = 0;
            int prevIdx = 0;
            for (long r : ranges) {
                int idx = (int) r;
                if (recStart[idx] < prevEnd) {
                    throw new CorruptImageException(resource, recStart[idx],
                            "inode record of index " + idx + " overlaps the record of index " + prevIdx);
                }
                prevEnd = recEnd[idx];
                prevIdx = idx;
            }
        }

        private void checkDigest(Parsed p, byte[] computed) throws CorruptImageException {
            if (!Arrays.equals(computed, p.digest)) {
                throw new CorruptImageException(resource, p.offset + RafsV5InodeRecord.DIGEST_OFFSET,
                        "inode digest mismatch for index " + p.index + ": expected " + hex(p.digest) + ", computed "
                                + hex(computed));
            }
        }

        private int recordOffset(int index) throws CorruptImageException {
            long at = sb.inodeTableOffset() + 4L * (index - 1);
            long v = Integer.toUnsignedLong(image.getInt((int) at));
            if (v <= 1024 || v >= (1L << 29)) {
                throw new CorruptImageException(resource, at,
                        "inode table entry " + index + " is " + v + ", expected 1024 < value < 2^29");
            }
            long off = v * 8;
            if (off < tablesEnd || off > fileSize - RafsV5InodeRecord.SIZE) {
                throw new CorruptImageException(resource, at, "inode table entry " + index + " points to offset " + off
                        + ", outside the record area [" + tablesEnd + ", " + (fileSize - RafsV5InodeRecord.SIZE) + "]");
            }
            return (int) off;
        }

        /**
         * Parses the record of {@code index}, listed by directory {@code parentIno}; claims the index so that no
         * second directory can list it (which also rules out cycles).
         */
        private Parsed parse(int index, long parentIno, String rootName) throws CorruptImageException {
            if (index < 1 || index > entries) {
                throw new CorruptImageException(resource, -1, "inode index " + index + " outside [1, " + entries + "]");
            }
            if (recStart[index] != 0) {
                throw new CorruptImageException(resource, recStart[index], "inode index " + index + " is listed twice");
            }
            int off = recordOffset(index);
            recStart[index] = off;
            recEnd[index] = off + RafsV5InodeRecord.SIZE;
            rec.at(off);
            Parsed p = new Parsed();
            p.index = index;
            p.offset = off;
            p.digest = rec.digest();
            p.ino = rec.ino();
            long flags = rec.flags();
            int mode = rec.mode();
            FileType type = FileType.fromMode(mode);
            if (type == null) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.MODE_OFFSET,
                        String.format("inode index %d has unknown file type in mode 0%o", index, mode));
            }
            if ((flags & ~RafsV5InodeRecord.KNOWN_FLAGS) != 0) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.FLAGS_OFFSET,
                        String.format("inode index %d has unknown i_flags bits 0x%x", index, flags));
            }
            if (p.ino < 1 || p.ino > entries) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.INO_OFFSET,
                        "inode index " + index + " has i_ino " + Long.toUnsignedString(p.ino) + ", expected 1.." + entries);
            }
            boolean hardLinkName = p.ino != index;
            if (hardLinkName && (type == FileType.DIRECTORY)) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.INO_OFFSET,
                        "directory at index " + index + " has i_ino " + p.ino + "; directories cannot be hard links");
            }
            if (rec.parent() != parentIno) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.PARENT_OFFSET, "inode index " + index
                        + " has i_parent " + Long.toUnsignedString(rec.parent()) + ", expected " + parentIno);
            }
            if (!hardLinkName && parentIno >= p.ino) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.PARENT_OFFSET,
                        "inode index " + index + " has i_parent " + parentIno + " not below its i_ino " + p.ino);
            }
            if (rec.nlink() == 0) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.NLINK_OFFSET, "inode index " + index + " has nlink 0");
            }
            int nsec = rec.mtimeNsec();
            if (nsec < 0 || nsec >= 1_000_000_000) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.MTIME_NSEC_OFFSET,
                        "inode index " + index + " has i_mtime_nsec " + Integer.toUnsignedString(nsec) + " >= 10^9");
            }
            long size = rec.size();
            if (size < 0) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.SIZE_OFFSET,
                        "inode index " + index + " has i_size " + Long.toUnsignedString(size) + " >= 2^63");
            }
            p.childIndex = rec.childIndex();
            p.childCount = rec.childCount();
            int nameSize = rec.nameSize();
            int symlinkSize = rec.symlinkSize();
            int uid = rec.uid();
            int gid = rec.gid();
            int rdev = rec.rdev();
            long mtime = rec.mtime();
            int pos = off + RafsV5InodeRecord.SIZE;
            // name
            if (nameSize == 0 || nameSize > MAX_NAME || nameSize > fileSize - pos) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.NAME_SIZE_OFFSET,
                        "inode index " + index + " has name size " + nameSize + ", expected 1.." + MAX_NAME + " inside the file");
            }
            byte[] name = new byte[nameSize];
            image.get(pos, name);
            if (rootName != null) {
                if (nameSize != 1 || name[0] != '/') {
                    throw new CorruptImageException(resource, pos, "root inode name is not \"/\"");
                }
                name = new byte[0];
            } else {
                checkName(name, pos, index);
            }
            p.name = name;
            pos = RafsV5XattrTable.align8(pos + nameSize);
            // symlink target
            byte[] target = null;
            if (type == FileType.SYMLINK) {
                if (symlinkSize == 0 || symlinkSize > fileSize - pos) {
                    throw new CorruptImageException(resource, off + RafsV5InodeRecord.SYMLINK_SIZE_OFFSET,
                            "symlink at index " + index + " has target size " + symlinkSize + ", expected 1.." + (fileSize - pos));
                }
                target = new byte[symlinkSize];
                image.get(pos, target);
                pos = RafsV5XattrTable.align8(pos + symlinkSize);
            } else if (symlinkSize != 0) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.SYMLINK_SIZE_OFFSET,
                        "non-symlink inode index " + index + " has i_symlink_size " + symlinkSize + ", expected 0");
            }
            if (pos > fileSize) {
                throw new CorruptImageException(resource, off, "inode index " + index + " runs past the end of the bootstrap");
            }
            Map<String, byte[]> xattrs = new TreeMap<>();
            if ((flags & RafsV5InodeRecord.FLAG_XATTR) != 0) {
                pos = RafsV5XattrTable.parse(image, pos, fileSize, resource, xattrs);
            }
            List<ChunkRef> chunks = List.of();
            if (type == FileType.REGULAR) {
                chunks = parseChunks(p, pos, size, (flags & RafsV5InodeRecord.FLAG_HAS_HOLE) != 0);
                pos += (int) p.childCount * ChunkRecord.SIZE;
            } else if (type != FileType.DIRECTORY && p.childCount != 0) {
                throw new CorruptImageException(resource, off + RafsV5InodeRecord.CHILD_COUNT_OFFSET,
                        type + " inode index " + index + " has i_child_count " + p.childCount + ", expected 0");
            }
            if (type == FileType.DIRECTORY && p.childCount != 0) {
                if (p.childIndex <= p.ino || p.childIndex + p.childCount - 1 > entries) {
                    throw new CorruptImageException(resource, off + RafsV5InodeRecord.CHILD_INDEX_OFFSET,
                            "directory index " + index + " lists children [" + p.childIndex + ", +" + p.childCount
                                    + "), expected inside (" + p.ino + ", " + entries + "]");
                }
            }
            recEnd[index] = pos;
            if (verifyDigests && type != FileType.DIRECTORY) {
                DigestAlgorithm.Hasher h = digester.newHasher();
                if (type == FileType.REGULAR) {
                    for (ChunkRef c : chunks) {
                        h.update(c.digest(), 0, c.digest().length);
                    }
                } else if (target != null) {
                    h.update(target, 0, target.length);
                }
                checkDigest(p, h.finish());
            }
            // build or share the Inode
            Inode existing = inodesByIno.get(p.ino);
            if (existing != null) {
                if (type == FileType.DIRECTORY || existing.mode != mode || existing.size != size
                        || !Arrays.equals(existing.symlinkTarget, target)) {
                    throw new CorruptImageException(resource, off + RafsV5InodeRecord.INO_OFFSET, "inode index " + index
                            + " reuses i_ino " + p.ino + " with different type/mode/size than the first name");
                }
                p.inode = existing;
                return p;
            }
            Inode inode = new Inode(mode);
            inode.ino = p.ino;
            inode.uid = uid;
            inode.gid = gid;
            inode.mtimeSec = mtime;
            inode.mtimeNsec = nsec;
            inode.rdev = (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) ? rdev : 0;
            inode.size = size;
            inode.symlinkTarget = target;
            inode.xattrs.putAll(xattrs);
            inode.chunks.addAll(chunks);
            inodesByIno.put(p.ino, inode);
            p.inode = inode;
            return p;
        }

        private void checkName(byte[] name, int at, int index) throws CorruptImageException {
            boolean dots = (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.');
            if (dots) {
                throw new CorruptImageException(resource, at, "inode index " + index + " is named '.' or '..'");
            }
            for (byte c : name) {
                if (c == 0 || c == '/') {
                    throw new CorruptImageException(resource, at,
                            "inode index " + index + " name contains " + (c == 0 ? "NUL" : "'/'"));
                }
            }
        }

        private List<ChunkRef> parseChunks(Parsed p, int pos, long size, boolean hasHole) throws CorruptImageException {
            long count = p.childCount;
            if (count > (fileSize - pos) / ChunkRecord.SIZE) {
                throw new CorruptImageException(resource, p.offset + RafsV5InodeRecord.CHILD_COUNT_OFFSET, "file index "
                        + p.index + " has " + count + " chunk records, more than fit in the " + (fileSize - pos) + " bytes left");
            }
            long expectedCount = (size + chunkSize - 1) / chunkSize;
            if (!hasHole && count != expectedCount) {
                throw new CorruptImageException(resource, p.offset + RafsV5InodeRecord.CHILD_COUNT_OFFSET, "file index "
                        + p.index + " of size " + size + " has " + count + " chunk records, expected " + expectedCount);
            }
            List<ChunkRef> out = new ArrayList<>((int) count);
            long prevEnd = 0;
            for (int i = 0; i < count; i++) {
                int at = pos + i * ChunkRecord.SIZE;
                ChunkRecord chunk = ChunkRecord.wrap(image, at); // the 80-byte record is shared with v6
                int flags = chunk.flags();
                long blobIndex = chunk.blobIndex();
                long csize = chunk.compressedSize();
                long usize = chunk.uncompressedSize();
                long coff = chunk.compressedOffset();
                long uoff = chunk.uncompressedOffset();
                long foff = chunk.fileOffset();
                long cindex = chunk.index();
                String what = "chunk " + i + " of file index " + p.index;
                if ((flags & ~ChunkRecord.KNOWN_FLAGS) != 0
                        || (flags & (ChunkRecord.FLAG_ENCRYPTED | ChunkRecord.FLAG_BATCH)) != 0) {
                    throw new CorruptImageException(resource, at + ChunkRecord.FLAGS_OFFSET,
                            String.format("%s has unsupported or unknown flags 0x%x (known: COMPRESSED, HAS_CRC32)", what, flags));
                }
                boolean compressed = (flags & ChunkRecord.FLAG_COMPRESSED) != 0;
                if (blobIndex >= blobs.size()) {
                    throw new CorruptImageException(resource, at + ChunkRecord.BLOB_INDEX_OFFSET,
                            what + " has blob index " + blobIndex + ", expected < " + blobs.size());
                }
                BlobInfo blob = blobs.get((int) blobIndex);
                if (usize == 0 || usize > chunkSize) {
                    throw new CorruptImageException(resource, at + ChunkRecord.UNCOMPRESSED_SIZE_OFFSET,
                            what + " has uncompressed size " + usize + ", expected 1.." + chunkSize);
                }
                if (csize == 0 || (!compressed && csize != usize) || csize > 2L * chunkSize) {
                    throw new CorruptImageException(resource, at + ChunkRecord.COMPRESSED_SIZE_OFFSET,
                            what + " has compressed size " + csize + " (compressed=" + compressed + ", uncompressed size "
                                    + usize + ")");
                }
                if (compressed && compressor == CompressionAlgorithm.NONE) {
                    throw new CorruptImageException(resource, at + ChunkRecord.FLAGS_OFFSET,
                            what + " is marked compressed but the image compressor is none");
                }
                if (coff < 0 || uoff < 0 || foff < 0) {
                    throw new CorruptImageException(resource, at + ChunkRecord.COMPRESSED_OFFSET_OFFSET,
                            what + " has an offset >= 2^63");
                }
                if (blob.compressedSize() > 0 && coff > blob.compressedSize() - csize) {
                    throw new CorruptImageException(resource, at + ChunkRecord.COMPRESSED_OFFSET_OFFSET,
                            what + " range [" + coff + ", +" + csize + ") exceeds blob " + blobIndex + " size " + blob.compressedSize());
                }
                if (blob.chunkCount() > 0 && cindex >= blob.chunkCount()) {
                    throw new CorruptImageException(resource, at + ChunkRecord.INDEX_OFFSET,
                            what + " has chunk index " + cindex + ", expected < " + blob.chunkCount());
                }
                if (!hasHole) {
                    long expectOff = (long) i * chunkSize;
                    long expectSize = Math.min(chunkSize, size - expectOff);
                    if (foff != expectOff || usize != expectSize) {
                        throw new CorruptImageException(resource, at + ChunkRecord.FILE_OFFSET_OFFSET, what
                                + " covers [" + foff + ", +" + usize + "), expected [" + expectOff + ", +" + expectSize + ")");
                    }
                } else if (foff < prevEnd || foff > size - usize) {
                    throw new CorruptImageException(resource, at + ChunkRecord.FILE_OFFSET_OFFSET, what
                            + " covers [" + foff + ", +" + usize + "), expected increasing non-overlapping ranges inside [0, "
                            + size + ") starting at or after " + prevEnd);
                }
                prevEnd = foff + usize;
                int crc = (flags & ChunkRecord.FLAG_HAS_CRC32) != 0 ? chunk.crc32() : 0;
                ChunkInfo info = new ChunkInfo((int) cindex, coff, (int) csize, uoff, (int) usize, compressed, crc);
                out.add(new ChunkRef((int) blobIndex, chunk.digest(), info, foff));
            }
            return out;
        }
    }

    /** A directory whose children are still to be parsed (breadth-first, like upstream's index assignment). */
    private record PendingDir(Parsed record, Node node, String path) {
    }

    /** What one record contributed. */
    private static final class Parsed {
        int index;
        int offset;
        long ino;
        byte[] digest;
        byte[] name;
        long childIndex;
        long childCount;
        Inode inode;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }
}
