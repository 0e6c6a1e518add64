package dev.nydus4j.rafs.v6;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Every flyweight's chained offsets end exactly at its SIZE (spec 3.2-3.12, 5.7). */
class StructureSizeTest {

    @Test
    void erofsSuperBlock() {
        assertThat(ErofsSuperBlock.SIZE).isEqualTo(128);
        assertThat(ErofsSuperBlock.ROOT_NID_OFFSET).isEqualTo(14);
        assertThat(ErofsSuperBlock.META_BLKADDR_OFFSET).isEqualTo(40);
        assertThat(ErofsSuperBlock.FEATURE_INCOMPAT_OFFSET).isEqualTo(80);
        assertThat(ErofsSuperBlock.DEVT_SLOTOFF_OFFSET).isEqualTo(88);
        assertThat(ErofsSuperBlock.RESERVED_OFFSET + 38).isEqualTo(ErofsSuperBlock.SIZE);
    }

    @Test
    void extendedSuperBlock() {
        assertThat(RafsV6ExtSuperBlock.POSITION).isEqualTo(1152);
        assertThat(RafsV6ExtSuperBlock.PREFETCH_TABLE_SIZE_OFFSET).isEqualTo(48);
        assertThat(RafsV6ExtSuperBlock.RESERVED_OFFSET + 200).isEqualTo(RafsV6ExtSuperBlock.SIZE).isEqualTo(256);
    }

    @Test
    void deviceSlotAndBlobTableEntry() {
        assertThat(DeviceSlot.TABLE_POSITION).isEqualTo(1408);
        assertThat(DeviceSlot.RESERVED_OFFSET + 56).isEqualTo(DeviceSlot.SIZE).isEqualTo(128);
        assertThat(BlobTableEntry.FEATURES_OFFSET).isEqualTo(84);
        assertThat(BlobTableEntry.CI_UNCOMPRESSED_SIZE_OFFSET).isEqualTo(128);
        assertThat(BlobTableEntry.BLOB_META_SIZE_OFFSET).isEqualTo(200);
        assertThat(BlobTableEntry.CIPHER_ALGO_OFFSET).isEqualTo(216);
        assertThat(BlobTableEntry.RESERVED_OFFSET + 36).isEqualTo(BlobTableEntry.SIZE).isEqualTo(256);
    }

    @Test
    void inodes() {
        assertThat(CompactInode.RESERVED2_OFFSET + 4).isEqualTo(CompactInode.SIZE).isEqualTo(32);
        assertThat(CompactInode.U_OFFSET).isEqualTo(16);
        assertThat(ExtendedInode.MTIME_OFFSET).isEqualTo(32);
        assertThat(ExtendedInode.NLINK_OFFSET).isEqualTo(44);
        assertThat(ExtendedInode.RESERVED2_OFFSET + 16).isEqualTo(ExtendedInode.SIZE).isEqualTo(64);
    }

    @Test
    void xattrsDirentChunkAddressAndChunkRecord() {
        assertThat(XattrIbodyHeader.RESERVED_OFFSET + 7).isEqualTo(XattrIbodyHeader.SIZE).isEqualTo(12);
        assertThat(XattrEntry.NAME_OFFSET).isEqualTo(XattrEntry.SIZE).isEqualTo(4);
        assertThat(XattrEntry.entrySize(1, 0)).isEqualTo(8);
        assertThat(XattrEntry.entrySize(4, 4)).isEqualTo(12);
        assertThat(Dirent.RESERVED_OFFSET + 1).isEqualTo(Dirent.SIZE).isEqualTo(12);
        assertThat(ChunkAddress.BLK_ADDR_OFFSET + 4).isEqualTo(ChunkAddress.SIZE).isEqualTo(8);
        assertThat(ChunkRecord.CRC32_OFFSET + 4).isEqualTo(ChunkRecord.SIZE).isEqualTo(80);
        assertThat(ChunkRecord.INDEX_OFFSET).isEqualTo(72);
        assertThat(PrefetchTable.ENTRY_SIZE).isEqualTo(4);
    }

    @Test
    void chunkAddressPacksBlobIndexAndTwentyFourBitIndex() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8);
        ChunkAddress a = ChunkAddress.wrap(b, 0);
        a.writeTo(253, 0xABCDEF, 0x12345678L);
        assertThat(a.blobIndex()).isEqualTo(253);
        assertThat(a.chunkIndex()).isEqualTo(0xABCDEF);
        assertThat(a.blkAddr()).isEqualTo(0x12345678L);
        // spec 3.12: lo = index bits 0..15, hi = (index bits 16..23) << 8 | (blob index + 1)
        assertThat(b.order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(0) & 0xFFFF).isEqualTo(0xCDEF);
        assertThat(b.getShort(2) & 0xFFFF).isEqualTo(0xABFE);
    }
}
