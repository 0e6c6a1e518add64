package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;

import java.util.Arrays;

/**
 * The {@code blob.digest} section (RAFS spec 6.7): {@code chunk_count × 32} bytes, the chunk digests in
 * chunk-index order, stored uncompressed. Growable while a blob is written (32 bytes per chunk).
 */
final class BlobDigestArray {
    static final int DIGEST_SIZE = 32;

    private byte[] bytes;
    private int count;

    BlobDigestArray() {
        bytes = new byte[DIGEST_SIZE * 64];
    }

    private BlobDigestArray(byte[] bytes) {
        this.bytes = bytes;
        this.count = bytes.length / DIGEST_SIZE;
    }

    /** Wraps section data read from a blob. */
    static BlobDigestArray parse(byte[] data, String resource, long fileOffset) throws CorruptImageException {
        if (data.length % DIGEST_SIZE != 0) {
            throw new CorruptImageException(resource, fileOffset,
                    "blob.digest size " + data.length + " is not a multiple of " + DIGEST_SIZE);
        }
        return new BlobDigestArray(data);
    }

    void add(byte[] digest) {
        if (digest.length != DIGEST_SIZE) {
            throw new IllegalArgumentException("chunk digest must be 32 bytes, got " + digest.length);
        }
        if ((count + 1) * DIGEST_SIZE > bytes.length) {
            bytes = Arrays.copyOf(bytes, bytes.length * 2);
        }
        System.arraycopy(digest, 0, bytes, count * DIGEST_SIZE, DIGEST_SIZE);
        count++;
    }

    int count() {
        return count;
    }

    byte[] get(int index) {
        return Arrays.copyOfRange(bytes, index * DIGEST_SIZE, (index + 1) * DIGEST_SIZE);
    }

    byte[][] toArray() {
        byte[][] out = new byte[count][];
        for (int i = 0; i < count; i++) {
            out[i] = get(i);
        }
        return out;
    }

    /** Section bytes: backing array, valid range {@code [0, count*32)}. */
    byte[] array() {
        return bytes;
    }

    int byteLength() {
        return count * DIGEST_SIZE;
    }
}
