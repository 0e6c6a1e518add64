package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The validated header part of a v6 bootstrap (checklist 3.16 items 1-3): superblock, extended superblock, blob
 * table and device slots. Immutable after {@link #read}.
 */
record V6Headers(ByteBuffer file, ErofsSuperBlock sb, RafsV6ExtSuperBlock ext, List<BlobInfo> blobs,
                 List<DeviceSlot> devices) {
    private static final Logger LOG = LoggerFactory.getLogger(V6Headers.class);

    static V6Headers read(byte[] bytes, String resource, Extents extents) throws CorruptImageException {
        if (bytes.length < ErofsSuperBlock.BLOCK_SIZE || bytes.length % ErofsSuperBlock.BLOCK_SIZE != 0) {
            if (bytes.length >= 4 && ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0)
                    == ErofsSuperBlock.RAFS_V5_MAGIC) {
                throw new CorruptImageException(resource, 0, "not a RAFS v6 bootstrap (magic 0x52414653 at offset 0);"
                        + " it looks like RAFS v5");
            }
            throw new CorruptImageException(resource, 0, "bootstrap size expected a non-zero multiple of 4096,"
                    + " found " + bytes.length);
        }
        ByteBuffer file = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        ErofsSuperBlock sb = ErofsSuperBlock.wrap(file);
        sb.validate(resource, bytes.length);
        RafsV6ExtSuperBlock ext = RafsV6ExtSuperBlock.wrap(file);
        ext.validate(resource, bytes.length);
        extents.add(ErofsSuperBlock.POSITION, ErofsSuperBlock.SIZE, "EROFS superblock");
        extents.add(RafsV6ExtSuperBlock.POSITION, RafsV6ExtSuperBlock.SIZE, "RAFS extended superblock");

        long blobCount = ext.blobTableSize() / BlobTableEntry.SIZE;
        if (blobCount > BlobTableEntry.MAX_BLOBS) {
            throw new CorruptImageException(resource, RafsV6ExtSuperBlock.POSITION
                    + RafsV6ExtSuperBlock.BLOB_TABLE_SIZE_OFFSET, "blob count expected <= 254, found " + blobCount);
        }
        if (sb.extraDevices() != blobCount) {
            throw new CorruptImageException(resource, ErofsSuperBlock.POSITION + ErofsSuperBlock.EXTRA_DEVICES_OFFSET,
                    "extra_devices expected = blob count " + blobCount + ", found " + sb.extraDevices());
        }
        extents.add(ext.blobTableOffset(), ext.blobTableSize(), "blob table");
        extents.add(DeviceSlot.TABLE_POSITION, blobCount * DeviceSlot.SIZE, "device table");
        List<BlobInfo> blobs = new ArrayList<>();
        List<DeviceSlot> devices = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        long blocks = 0;
        for (int i = 0; i < blobCount; i++) {
            BlobTableEntry e = BlobTableEntry.wrap(file, ext.blobTableOffset(), i);
            e.validate(resource, i, ext.chunkSize());
            if (!ids.add(e.blobId())) {
                throw new CorruptImageException(resource, e.offset(), "blob id " + e.blobId()
                        + " expected unique, found twice in the blob table");
            }
            DeviceSlot d = DeviceSlot.wrap(file, i);
            d.validate(resource, e.blobId(), e.uncompressedSize());
            blobs.add(e.toBlobInfo());
            devices.add(d);
            blocks += d.blocks();
        }
        if (blocks != sb.blocks() && LOG.isDebugEnabled()) {
            LOG.debug("{}: superblock blocks {} differ from the device-slot sum {} (statfs only)", resource,
                    sb.blocks(), blocks);
        }
        return new V6Headers(file, sb, ext, blobs, devices);
    }
}
