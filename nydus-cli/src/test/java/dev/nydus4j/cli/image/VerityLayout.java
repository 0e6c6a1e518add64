package dev.nydus4j.cli.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The veritysetup parameters of a block image with an appended dm-verity hash tree (format 1, SHA-256, 4096-byte
 * blocks, 128 digests per hash block, levels top-most first; RAFS spec 8.3), recovered from the file alone: the data
 * size is the only n with {@code n + hashBlocks(n) == total blocks}, and the root hash is the digest of the first
 * hash block (or of the only data block).
 *
 * @param dataBlocks  number of 4096-byte data blocks
 * @param hashOffset  byte offset of the hash tree (= data size)
 * @param rootHashHex root hash as lowercase hex
 */
record VerityLayout(long dataBlocks, long hashOffset, String rootHashHex) {
    static final int BLOCK = 4096;
    static final int DIGESTS_PER_BLOCK = BLOCK / 32;

    /** Hash blocks dm-verity needs for {@code n} data blocks (0 for a single block: the root is its digest). */
    static long hashBlocks(long n) {
        long total = 0;
        long level = n;
        while (level > 1) {
            level = (level + DIGESTS_PER_BLOCK - 1) / DIGESTS_PER_BLOCK;
            total += level;
        }
        return total;
    }

    static VerityLayout ofImage(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0 || size % BLOCK != 0) {
                throw new IOException(image + ": size " + size + " is not a positive multiple of " + BLOCK);
            }
            long total = size / BLOCK;
            long lo = 1;
            long hi = total;
            while (lo < hi) { // n + hashBlocks(n) is strictly increasing in n
                long mid = (lo + hi) >>> 1;
                if (mid + hashBlocks(mid) < total) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if (lo + hashBlocks(lo) != total) {
                throw new IOException(image + ": " + total + " blocks cannot be data plus a dm-verity hash tree");
            }
            long rootBlock = hashBlocks(lo) == 0 ? 0 : lo;
            ByteBuffer buf = ByteBuffer.allocate(BLOCK);
            while (buf.hasRemaining()) {
                if (ch.read(buf, rootBlock * BLOCK + buf.position()) < 0) {
                    throw new IOException(image + ": short read of block " + rootBlock);
                }
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(buf.array());
            return new VerityLayout(lo, lo * BLOCK, HexFormat.of().formatHex(sha.digest()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}
