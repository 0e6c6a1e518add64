package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * EROFS device slot, one per blob in blob-table order (spec 3.4), 128 bytes each starting at 1408.
 *
 * <pre>
 * off size field
 *   0 [64] tag: blob id, ASCII, NUL padded
 *  64  u32 blocks: uncompressed_size / 4096 (floor), non-zero
 *  68  u32 mapped_blkaddr: start block in the flat block-device view (spec 8.3)
 *  72 [56] reserved
 * </pre>
 */
final class DeviceSlot extends LeStruct {
    static final int SIZE = 128;
    static final int TABLE_POSITION = ErofsSuperBlock.DEVT_SLOTOFF * SIZE;

    static final int TAG_OFFSET = 0;
    static final int TAG_SIZE = 64;
    static final int BLOCKS_OFFSET = TAG_OFFSET + TAG_SIZE;
    static final int MAPPED_BLKADDR_OFFSET = BLOCKS_OFFSET + 4;
    static final int RESERVED_OFFSET = MAPPED_BLKADDR_OFFSET + 4;

    /** Flat-view segment alignment of mapped_blkaddr (512 KiB). */
    static final long MAPPED_ALIGNMENT = 0x80000;

    private DeviceSlot(ByteBuffer file, int base) {
        super(file, base, SIZE);
    }

    /** Slot {@code index} (0-based = blob index) of a whole-file buffer. */
    static DeviceSlot wrap(ByteBuffer file, int index) {
        return new DeviceSlot(file, TABLE_POSITION + index * SIZE);
    }

    String tag() {
        byte[] t = bytes(TAG_OFFSET, TAG_SIZE);
        int n = 0;
        while (n < t.length && t[n] != 0) {
            n++;
        }
        return new String(t, 0, n, StandardCharsets.US_ASCII);
    }

    long blocks() { return u32(BLOCKS_OFFSET); }
    long mappedBlkaddr() { return u32(MAPPED_BLKADDR_OFFSET); }

    /** Checks the slot against blob table entry of the same index (tag = id, blocks = uncompressed size). */
    void validate(String resource, String blobId, long uncompressedSize) throws CorruptImageException {
        if (!tag().equals(blobId)) {
            throw new CorruptImageException(resource, base + TAG_OFFSET,
                    "device slot tag expected blob id '" + blobId + "', found '" + tag() + "'");
        }
        long expected = uncompressedSize / ErofsSuperBlock.BLOCK_SIZE;
        if (blocks() == 0 || blocks() != expected) {
            throw new CorruptImageException(resource, base + BLOCKS_OFFSET, "device slot blocks expected "
                    + expected + " (blob uncompressed_size / 4096, non-zero), found " + blocks());
        }
    }

    void writeTo(String blobId, long blocks, long mappedBlkaddr) {
        putBytes(TAG_OFFSET, blobId.getBytes(StandardCharsets.US_ASCII), TAG_SIZE);
        put32(BLOCKS_OFFSET, blocks);
        put32(MAPPED_BLKADDR_OFFSET, mappedBlkaddr);
    }
}
