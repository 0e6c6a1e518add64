package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;

import java.nio.ByteBuffer;

/**
 * EROFS superblock as used by RAFS v6 (spec 3.2), 128 bytes at file offset 1024.
 *
 * <pre>
 * off size field
 *   0  u32 magic 0xE0F5E1E2          40 u32 meta_blkaddr
 *   4  u32 checksum (0)              44 u32 xattr_blkaddr (0)
 *   8  u32 feature_compat            48 [16] uuid
 *  12  u8  blkszbits (12)            64 [16] volume_name
 *  13  u8  extslots (0)              80 u32 feature_incompat (0xC)
 *  14  u16 root_nid                  84 u16 u1 (0)
 *  16  u64 inos                      86 u16 extra_devices
 *  24  u64 build_time                88 u16 devt_slotoff (11)
 *  32  u32 build_time_nsec           90 [38] reserved
 *  36  u32 blocks
 * </pre>
 */
final class ErofsSuperBlock extends LeStruct {
    static final int POSITION = 1024;
    static final int SIZE = 128;

    static final int MAGIC_OFFSET = 0;
    static final int CHECKSUM_OFFSET = MAGIC_OFFSET + 4;
    static final int FEATURE_COMPAT_OFFSET = CHECKSUM_OFFSET + 4;
    static final int BLKSZBITS_OFFSET = FEATURE_COMPAT_OFFSET + 4;
    static final int EXTSLOTS_OFFSET = BLKSZBITS_OFFSET + 1;
    static final int ROOT_NID_OFFSET = EXTSLOTS_OFFSET + 1;
    static final int INOS_OFFSET = ROOT_NID_OFFSET + 2;
    static final int BUILD_TIME_OFFSET = INOS_OFFSET + 8;
    static final int BUILD_TIME_NSEC_OFFSET = BUILD_TIME_OFFSET + 8;
    static final int BLOCKS_OFFSET = BUILD_TIME_NSEC_OFFSET + 4;
    static final int META_BLKADDR_OFFSET = BLOCKS_OFFSET + 4;
    static final int XATTR_BLKADDR_OFFSET = META_BLKADDR_OFFSET + 4;
    static final int UUID_OFFSET = XATTR_BLKADDR_OFFSET + 4;
    static final int VOLUME_NAME_OFFSET = UUID_OFFSET + 16;
    static final int FEATURE_INCOMPAT_OFFSET = VOLUME_NAME_OFFSET + 16;
    static final int U1_OFFSET = FEATURE_INCOMPAT_OFFSET + 4;
    static final int EXTRA_DEVICES_OFFSET = U1_OFFSET + 2;
    static final int DEVT_SLOTOFF_OFFSET = EXTRA_DEVICES_OFFSET + 2;
    static final int RESERVED_OFFSET = DEVT_SLOTOFF_OFFSET + 2;

    static final int MAGIC = 0xE0F5E1E2;
    static final int FEATURE_COMPAT_SB_CHKSUM = 0x1;
    static final int FEATURE_COMPAT_RAFS_V6 = 0x4000_0000;
    static final int FEATURE_INCOMPAT_RAFS = 0xC;
    static final int BLKSZBITS = 12;
    static final int BLOCK_SIZE = 1 << BLKSZBITS;
    /** Device table at 11 * 128 = 1408. */
    static final int DEVT_SLOTOFF = 11;
    /** RAFS v5 superblock magic at offset 0 ("RAFS" read little-endian). */
    static final int RAFS_V5_MAGIC = 0x5241_4653;

    private ErofsSuperBlock(ByteBuffer buf) {
        super(buf, POSITION, SIZE);
    }

    /** View over the superblock of a whole-file buffer (the buffer must hold at least 1152 bytes). */
    static ErofsSuperBlock wrap(ByteBuffer file) {
        return new ErofsSuperBlock(file);
    }

    int magic() { return i32(MAGIC_OFFSET); }
    long checksum() { return u32(CHECKSUM_OFFSET); }
    long featureCompat() { return u32(FEATURE_COMPAT_OFFSET); }
    int blkszbits() { return u8(BLKSZBITS_OFFSET); }
    int extslots() { return u8(EXTSLOTS_OFFSET); }
    int rootNid() { return u16(ROOT_NID_OFFSET); }
    long inos() { return u64(INOS_OFFSET); }
    long buildTime() { return u64(BUILD_TIME_OFFSET); }
    long blocks() { return u32(BLOCKS_OFFSET); }
    long metaBlkaddr() { return u32(META_BLKADDR_OFFSET); }
    long xattrBlkaddr() { return u32(XATTR_BLKADDR_OFFSET); }
    long featureIncompat() { return u32(FEATURE_INCOMPAT_OFFSET); }
    int u1() { return u16(U1_OFFSET); }
    int extraDevices() { return u16(EXTRA_DEVICES_OFFSET); }
    int devtSlotoff() { return u16(DEVT_SLOTOFF_OFFSET); }

    /** Checklist 3.16 item 1 (everything but the ranges, which need the extended superblock). */
    void validate(String resource, long fileSize) throws CorruptImageException {
        if (magic() != MAGIC) {
            int v5 = buf.getInt(0);
            String hint = v5 == RAFS_V5_MAGIC ? "; it looks like RAFS v5 (magic 0x52414653 at offset 0), read it with"
                    + " the v5 reader or dev.nydus4j.rafs.Bootstraps" : "";
            throw new CorruptImageException(resource, POSITION, String.format(
                    "not a RAFS v6 bootstrap: EROFS magic expected 0x%08X, found 0x%08X%s", MAGIC, magic(), hint));
        }
        check(resource, CHECKSUM_OFFSET, "superblock checksum", 0, checksum());
        if ((featureCompat() & FEATURE_COMPAT_RAFS_V6) == 0 || (featureCompat() & FEATURE_COMPAT_SB_CHKSUM) != 0) {
            throw new CorruptImageException(resource, POSITION + FEATURE_COMPAT_OFFSET, String.format(
                    "feature_compat expected RAFS_V6 bit 0x40000000 set and checksum bit 0x1 clear, found 0x%x",
                    featureCompat()));
        }
        check(resource, BLKSZBITS_OFFSET, "blkszbits (tarfs 512-byte blocks unsupported)", BLKSZBITS, blkszbits());
        check(resource, EXTSLOTS_OFFSET, "extslots", 0, extslots());
        if (inos() == 0) {
            throw new CorruptImageException(resource, POSITION + INOS_OFFSET, "inos expected non-zero, found 0");
        }
        check(resource, XATTR_BLKADDR_OFFSET, "xattr_blkaddr", 0, xattrBlkaddr());
        check(resource, FEATURE_INCOMPAT_OFFSET, "feature_incompat", FEATURE_INCOMPAT_RAFS, featureIncompat());
        check(resource, U1_OFFSET, "available compression algorithms field", 0, u1());
        check(resource, DEVT_SLOTOFF_OFFSET, "devt_slotoff", DEVT_SLOTOFF, devtSlotoff());
        long metaStart = metaBlkaddr() * BLOCK_SIZE;
        if (metaBlkaddr() == 0 || metaStart >= fileSize) {
            throw new CorruptImageException(resource, POSITION + META_BLKADDR_OFFSET, "meta_blkaddr expected inside"
                    + " the file (1.." + (fileSize / BLOCK_SIZE - 1) + "), found " + metaBlkaddr());
        }
    }

    private void check(String resource, int off, String what, long expected, long found) throws CorruptImageException {
        if (expected != found) {
            throw new CorruptImageException(resource, POSITION + off,
                    what + " expected " + expected + ", found " + found);
        }
    }

    void writeTo(int rootNid, long inos, long blocks, long metaBlkaddr, int extraDevices) {
        put32(MAGIC_OFFSET, MAGIC);
        put32(FEATURE_COMPAT_OFFSET, FEATURE_COMPAT_RAFS_V6);
        put8(BLKSZBITS_OFFSET, BLKSZBITS);
        put16(ROOT_NID_OFFSET, rootNid);
        put64(INOS_OFFSET, inos);
        put32(BLOCKS_OFFSET, blocks);
        put32(META_BLKADDR_OFFSET, metaBlkaddr);
        put32(FEATURE_INCOMPAT_OFFSET, FEATURE_INCOMPAT_RAFS);
        put16(EXTRA_DEVICES_OFFSET, extraDevices);
        put16(DEVT_SLOTOFF_OFFSET, DEVT_SLOTOFF);
    }
}
