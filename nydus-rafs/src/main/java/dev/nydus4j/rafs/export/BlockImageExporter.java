package dev.nydus4j.rafs.export;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6Device;
import dev.nydus4j.rafs.v6.RafsV6Reader;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Exports a RAFS v6 image as a flat block image (spec 8.3): the bootstrap at offset 0 and every blob's uncompressed
 * image at {@code mapped_blkaddr * 4096}, padded to {@code blocks * 4096}, optionally followed by a dm-verity hash
 * tree ({@link VerityTree}). The kernel mounts the result with {@code mount -t erofs -o loop}. Stateless.
 */
public final class BlockImageExporter {
    private static final Logger LOG = LoggerFactory.getLogger(BlockImageExporter.class);
    static final int BLOCK = 4096;

    private BlockImageExporter() {
    }

    /**
     * What was written.
     *
     * @param imageSize      bytes of the flat image (the verity tree, if any, starts here)
     * @param totalSize      size of the output file
     * @param rootHash       dm-verity root hash (32 bytes), or null without verity
     * @param dataBlocks     4096-byte data blocks covered by the hash tree
     */
    public record Result(long imageSize, long totalSize, byte[] rootHash, long dataBlocks) {
        /** Hex root hash, or null without verity. */
        public String rootHashHex() {
            return rootHash == null ? null : HexFormat.of().formatHex(rootHash);
        }

        /** The veritysetup arguments that open the image (format 1, sha256, no salt, hash tree after the data). */
        public String veritysetupHint(Path image) {
            return rootHash == null ? "" : String.format("veritysetup open --no-superblock --format=1"
                    + " --hash=sha256 --data-block-size=4096 --hash-block-size=4096 --data-blocks=%d"
                    + " --hash-offset=%d --salt=- %s <name> %s %s", dataBlocks, imageSize, image, image,
                    rootHashHex());
        }
    }

    /**
     * Writes the flat block image of {@code bootstrap} to {@code out} (replaced), reading chunk data through
     * {@code chunks} (verified against the bootstrap chunk digests). Logs and returns the root hash when
     * {@code verity}.
     */
    public static Result export(Path bootstrap, ChunkReader chunks, Path out, boolean verity) throws IOException {
        byte[] boot = Files.readAllBytes(bootstrap);
        String resource = bootstrap.toString();
        RafsTree tree = RafsV6Reader.read(boot, resource);
        List<RafsV6Device> devices = RafsV6Reader.devices(boot, resource);
        long imageSize = boot.length;
        for (RafsV6Device d : devices) {
            long start = d.mappedBlkaddr() * BLOCK;
            if (start < imageSize) {
                throw new CorruptImageException(resource, -1, "blob " + d.blobId() + " mapped_blkaddr "
                        + d.mappedBlkaddr() + " expected at or after block " + imageSize / BLOCK + " (end of the"
                        + " previous content); images with mapped_blkaddr 0 cannot be exported flat");
            }
            imageSize = start + d.blocks() * BLOCK;
        }
        List<List<ChunkRef>> perBlob = distinctChunks(tree);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ, StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, ByteBuffer.wrap(boot), 0);
            for (RafsV6Device d : devices) {
                BlobInfo blob = tree.blobs.get(d.blobIndex());
                long base = d.mappedBlkaddr() * BLOCK;
                long limit = d.blocks() * BLOCK;
                for (ChunkRef c : perBlob.get(d.blobIndex())) {
                    byte[] buf = new byte[c.info().uncompressedSize()];
                    chunks.readChunk(blob, c.info(), c.digest(), buf);
                    long at = c.info().uncompressedOffset();
                    int len = (int) Math.min(buf.length, limit - at);
                    if (len > 0) {
                        writeFully(ch, ByteBuffer.wrap(buf, 0, len), base + at);
                    }
                }
            }
            // zero tail up to the image end (sparse where possible)
            if (ch.size() < imageSize) {
                writeFully(ch, ByteBuffer.allocate(1), imageSize - 1);
            }
            byte[] root = null;
            long total = imageSize;
            if (verity) {
                VerityTree vt = VerityTree.build(ch, imageSize);
                total = vt.writeTo(ch, imageSize);
                root = vt.rootHash();
                LOG.info("exported {} as flat block image {} ({} bytes, dm-verity root hash {})", bootstrap, out,
                        imageSize, HexFormat.of().formatHex(root));
            } else {
                LOG.info("exported {} as flat block image {} ({} bytes)", bootstrap, out, imageSize);
            }
            return new Result(imageSize, total, root, imageSize / BLOCK);
        }
    }

    /** Per blob, the distinct chunks (by chunk index) referenced by the tree, in uncompressed-offset order. */
    private static List<List<ChunkRef>> distinctChunks(RafsTree tree) {
        List<TreeMap<Integer, ChunkRef>> maps = new ArrayList<>();
        for (int i = 0; i < tree.blobs.size(); i++) {
            maps.add(new TreeMap<>());
        }
        Set<Inode> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Node> todo = new ArrayDeque<>();
        todo.add(tree.root);
        while (!todo.isEmpty()) {
            Node n = todo.poll();
            if (!seen.add(n.inode())) {
                continue;
            }
            for (ChunkRef c : n.inode().chunks) {
                maps.get(c.blobIndex()).putIfAbsent(c.info().index(), c);
            }
            todo.addAll(n.children());
        }
        List<List<ChunkRef>> out = new ArrayList<>();
        for (TreeMap<Integer, ChunkRef> m : maps) {
            List<ChunkRef> l = new ArrayList<>(m.values());
            l.sort(Comparator.comparingLong(c -> c.info().uncompressedOffset()));
            out.add(l);
        }
        return out;
    }

    static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }
}
