package dev.nydus4j.rafs.v5;

import dev.nydus4j.rafs.v6.ChunkRecord;
import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One named test per v5 reader rule (spec 5.2–5.7 [R]), each breaking exactly that rule in the sha256 fixture. */
class RafsV5StrictnessTest {
    private byte[] bytes;
    private ByteBuffer b;

    @BeforeEach
    void load() throws Exception {
        bytes = Files.readAllBytes(Fixtures.upstream("repeatable/sha256-nocompress-repeatable"));
        b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private int record(int index) {
        return b.getInt(8192 + 4 * (index - 1)) * 8;
    }

    private int firstRecordOfType(int typeBits) {
        int n = b.getInt(RafsV5SuperBlock.INODE_TABLE_ENTRIES_OFFSET);
        for (int i = 2; i <= n; i++) {
            int off = record(i);
            if ((b.getInt(off + RafsV5InodeRecord.MODE_OFFSET) & 0170000) == typeBits
                    && b.getInt(off + RafsV5InodeRecord.CHILD_COUNT_OFFSET) > 0) {
                return off;
            }
        }
        throw new AssertionError("no record of type " + Integer.toOctalString(typeBits));
    }

    private int firstChunkOf(int fileRecord) {
        int nameSize = Short.toUnsignedInt(b.getShort(fileRecord + RafsV5InodeRecord.NAME_SIZE_OFFSET));
        return fileRecord + RafsV5InodeRecord.SIZE + ((nameSize + 7) & ~7);
    }

    private void assertRejected(String messagePart) {
        assertThatThrownBy(() -> RafsV5Reader.read(bytes, "fixture")).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining(messagePart).hasMessageContaining("resource=fixture");
    }

    @Test
    void unknownSuperblockFlag() {
        b.putLong(RafsV5SuperBlock.FLAGS_OFFSET, b.getLong(RafsV5SuperBlock.FLAGS_OFFSET) | 0x400);
        assertRejected("unknown superblock flag bits 0x400");
    }

    @Test
    void chunkSizeNotPowerOfTwo() {
        b.putInt(RafsV5SuperBlock.BLOCK_SIZE_OFFSET, 0x100001);
        assertRejected("bad chunk size");
    }

    @Test
    void overlappingTables() {
        b.putLong(RafsV5SuperBlock.BLOB_TABLE_OFFSET_OFFSET, 8192 + 8);
        assertRejected("overlaps");
    }

    @Test
    void inodesCountAboveEntries() {
        b.putLong(RafsV5SuperBlock.INODES_COUNT_OFFSET, 1000);
        assertRejected("exceeds inode_table_entries");
    }

    @Test
    void inodeTableValueOutOfRange() {
        b.putInt(8192 + 4, 1024);
        assertRejected("expected 1024 < value < 2^29");
    }

    @Test
    void childrenNotSorted() {
        // swap the records of root's first two children (indexes 2 and 3)
        int a = b.getInt(8192 + 4);
        b.putInt(8192 + 4, b.getInt(8192 + 8));
        b.putInt(8192 + 8, a);
        assertThatThrownBy(() -> RafsV5Reader.read(bytes, "fixture")).isInstanceOf(CorruptImageException.class);
    }

    @Test
    void childIndexNotAboveParent() {
        b.putInt(record(1) + RafsV5InodeRecord.CHILD_INDEX_OFFSET, 1);
        assertRejected("lists children");
    }

    @Test
    void wrongParent() {
        int off = record(2);
        b.putLong(off + RafsV5InodeRecord.PARENT_OFFSET, 7);
        assertRejected("expected 1");
    }

    @Test
    void nameWithSlash() {
        int off = record(2);
        bytes[off + RafsV5InodeRecord.SIZE] = '/';
        assertRejected("name contains '/'");
    }

    @Test
    void zeroNlink() {
        b.putInt(record(2) + RafsV5InodeRecord.NLINK_OFFSET, 0);
        assertRejected("nlink 0");
    }

    @Test
    void unknownFileType() {
        int off = record(2);
        b.putInt(off + RafsV5InodeRecord.MODE_OFFSET, (b.getInt(off + RafsV5InodeRecord.MODE_OFFSET) & 07777) | 0070000);
        assertRejected("unknown file type");
    }

    @Test
    void chunkBlobIndexOutOfRange() {
        int chunk = firstChunkOf(firstRecordOfType(0100000));
        b.putInt(chunk + ChunkRecord.BLOB_INDEX_OFFSET, 3);
        assertRejected("blob index 3");
    }

    @Test
    void chunkCountDisagreesWithSize() {
        int file = firstRecordOfType(0100000);
        b.putLong(file + RafsV5InodeRecord.SIZE_OFFSET, b.getLong(file + RafsV5InodeRecord.SIZE_OFFSET) + (2 << 20));
        assertThatThrownBy(() -> RafsV5Reader.read(bytes, "fixture")).isInstanceOf(CorruptImageException.class);
    }

    @Test
    void chunkBeyondBlobEnd() {
        int chunk = firstChunkOf(firstRecordOfType(0100000));
        b.putLong(chunk + ChunkRecord.COMPRESSED_OFFSET_OFFSET, 0x358a1e);
        assertRejected("exceeds blob 0 size");
    }

    @Test
    void unknownChunkFlag() {
        int chunk = firstChunkOf(firstRecordOfType(0100000));
        b.putInt(chunk + ChunkRecord.FLAGS_OFFSET, 0x40);
        assertRejected("unsupported or unknown flags 0x40");
    }

    @Test
    void compressedChunkInUncompressedImage() {
        int chunk = firstChunkOf(firstRecordOfType(0100000));
        b.putInt(chunk + ChunkRecord.FLAGS_OFFSET, ChunkRecord.FLAG_COMPRESSED);
        assertRejected("marked compressed but the image compressor is none");
    }

    @Test
    void symlinkSizeOnNonSymlink() {
        b.putShort(record(2) + RafsV5InodeRecord.SYMLINK_SIZE_OFFSET, (short) 3);
        assertRejected("i_symlink_size 3");
    }

    @Test
    void badBlobId() {
        bytes[(int) b.getLong(RafsV5SuperBlock.BLOB_TABLE_OFFSET_OFFSET) + 8] = '/';
        assertRejected("invalid blob id");
    }
}
