package dev.nydus4j.rafs.export;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * dm-verity hash tree as nydus appends it to flat block images (spec 8.3): format 1, SHA-256, 4096-byte data and
 * hash blocks, empty salt, no superblock; 128 digests per hash block, unused slots filled with SHA-256 of a zero
 * block (unlike {@code veritysetup format}); levels stored top-most first. Root hash = SHA-256 of the single
 * top-level block, or of the only data block when the image has one block. Not thread-safe.
 */
final class VerityTree {
    static final int BLOCK = 4096;
    static final int DIGEST = 32;
    static final int PER_BLOCK = BLOCK / DIGEST;

    /** Hash levels, lowest (hashes of data blocks) first; each is whole hash blocks. */
    private final List<byte[]> levels;
    private final byte[] root;

    private VerityTree(List<byte[]> levels, byte[] root) {
        this.levels = levels;
        this.root = root;
    }

    /** Hashes {@code [0, dataSize)} of {@code ch} ({@code dataSize} a multiple of 4096). */
    static VerityTree build(FileChannel ch, long dataSize) throws IOException {
        if (dataSize <= 0 || dataSize % BLOCK != 0) {
            throw new IllegalArgumentException("verity data size must be a positive multiple of 4096, got " + dataSize);
        }
        MessageDigest md = sha256();
        byte[] zeroHash = md.digest(new byte[BLOCK]);
        long blocks = dataSize / BLOCK;
        ByteBuffer buf = ByteBuffer.allocate(256 * BLOCK);
        byte[] block = new byte[BLOCK];
        byte[] level = newLevel(blocks, zeroHash);
        for (long b = 0; b < blocks; ) {
            buf.clear();
            int want = (int) Math.min(buf.capacity(), (blocks - b) * BLOCK);
            buf.limit(want);
            long pos = b * BLOCK;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos + buf.position());
                if (n < 0) {
                    throw new EOFException("image ended at " + (pos + buf.position()) + " before " + dataSize);
                }
            }
            buf.flip();
            while (buf.hasRemaining()) {
                buf.get(block);
                md.update(block);
                digestInto(md, level, (int) (b * DIGEST));
                b++;
            }
        }
        if (blocks == 1) {
            return new VerityTree(List.of(), md.digest(readBlock(ch)));
        }
        List<byte[]> levels = new ArrayList<>();
        levels.add(level);
        while (level.length > BLOCK) {
            long n = level.length / BLOCK;
            byte[] up = newLevel(n, zeroHash);
            for (int i = 0; i < n; i++) {
                md.update(level, i * BLOCK, BLOCK);
                digestInto(md, up, i * DIGEST);
            }
            levels.add(up);
            level = up;
        }
        return new VerityTree(levels, md.digest(level));
    }

    private static byte[] readBlock(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) {
                throw new EOFException("image shorter than one block");
            }
        }
        return b.array();
    }

    /** A level holding {@code digests} digests in whole hash blocks, unused slots = hash of a zero block. */
    private static byte[] newLevel(long digests, byte[] zeroHash) {
        long hashBlocks = (digests + PER_BLOCK - 1) / PER_BLOCK;
        if (hashBlocks * BLOCK > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("image too large for an in-memory hash level: " + digests + " blocks");
        }
        byte[] level = new byte[(int) (hashBlocks * BLOCK)];
        for (long i = digests; i < hashBlocks * PER_BLOCK; i++) {
            System.arraycopy(zeroHash, 0, level, (int) (i * DIGEST), DIGEST);
        }
        return level;
    }

    byte[] rootHash() {
        return root.clone();
    }

    /** Appends the levels top-most first at {@code offset}; returns the end offset. */
    long writeTo(FileChannel ch, long offset) throws IOException {
        long pos = offset;
        for (int i = levels.size() - 1; i >= 0; i--) {
            BlockImageExporter.writeFully(ch, ByteBuffer.wrap(levels.get(i)), pos);
            pos += levels.get(i).length;
        }
        return pos;
    }

    private static void digestInto(MessageDigest md, byte[] dst, int off) {
        try {
            md.digest(dst, off, DIGEST);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException("SHA-256 digest into a 32-byte slot failed", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}
