package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The blob table of contents {@code rafs.blob.toc} (RAFS spec 6.9): the last section of a blob, an array of
 * 128-byte entries, each locating one other section and giving the SHA-256 of its uncompressed data.
 *
 * <pre>
 * off  size field
 *   0  u32  flags              compression of the entry data: 0x1 none, 0x2 zstd, 0x4 lz4_block
 *   4  u32  reserved
 *   8  [16] name               NUL padded ASCII
 *  24  [32] uncompressed_digest  SHA-256 of the uncompressed entry data
 *  56  u64  compressed_offset
 *  64  u64  compressed_size
 *  72  u64  uncompressed_size
 *  80  [48] reserved
 * </pre>
 *
 * Reserved bytes are ignored on read: nydus 2.2 left garbage there.
 *
 * @param entries the entries in file order
 */
public record BlobToc(List<Entry> entries) {

    public static final int ENTRY_SIZE = 128;
    /** Upper bound on entries accepted when parsing (upstream writes at most 5). */
    static final int MAX_ENTRIES = 64;

    public static final String BLOB_META_HEADER = "blob.meta.header";

    public static final int FLAG_NONE = 0x1;
    public static final int FLAG_ZSTD = 0x2;
    public static final int FLAG_LZ4_BLOCK = 0x4;

    private static final int FLAGS_OFFSET = 0;
    private static final int NAME_OFFSET = 8;
    private static final int NAME_SIZE = 16;
    private static final int DIGEST_OFFSET = 24;
    private static final int COMPRESSED_OFFSET_OFFSET = 56;
    private static final int COMPRESSED_SIZE_OFFSET = 64;
    private static final int UNCOMPRESSED_SIZE_OFFSET = 72;

    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    public BlobToc {
        entries = List.copyOf(entries);
    }

    /**
     * One ToC entry.
     *
     * @param flags              {@link #FLAG_NONE}, {@link #FLAG_ZSTD} or {@link #FLAG_LZ4_BLOCK}
     * @param name               section name (1..16 ASCII bytes)
     * @param uncompressedDigest SHA-256 of the uncompressed data (32 bytes)
     * @param compressedOffset   blob offset of the stored data
     * @param compressedSize     stored size
     * @param uncompressedSize   plain size
     */
    public record Entry(int flags, String name, byte[] uncompressedDigest, long compressedOffset, long compressedSize,
                        long uncompressedSize) {
        public Entry {
            if (uncompressedDigest.length != 32) {
                throw new IllegalArgumentException("ToC digest must be 32 bytes");
            }
        }
    }

    public Optional<Entry> find(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    /** The entries' bytes (the section data, without its tar header). */
    public byte[] encode() {
        byte[] out = new byte[entries.size() * ENTRY_SIZE];
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int off = i * ENTRY_SIZE;
            byte[] name = e.name().getBytes(StandardCharsets.US_ASCII);
            if (name.length == 0 || name.length > NAME_SIZE) {
                throw new IllegalArgumentException("ToC entry name must be 1..16 bytes: " + e.name());
            }
            LittleEndian.putInt(out, off + FLAGS_OFFSET, e.flags());
            System.arraycopy(name, 0, out, off + NAME_OFFSET, name.length);
            System.arraycopy(e.uncompressedDigest(), 0, out, off + DIGEST_OFFSET, 32);
            LittleEndian.putLong(out, off + COMPRESSED_OFFSET_OFFSET, e.compressedOffset());
            LittleEndian.putLong(out, off + COMPRESSED_SIZE_OFFSET, e.compressedSize());
            LittleEndian.putLong(out, off + UNCOMPRESSED_SIZE_OFFSET, e.uncompressedSize());
        }
        return out;
    }

    /**
     * Parses the ToC section data {@code data} (a multiple of 128 bytes).
     *
     * @param fileOffset blob offset of {@code data}, for error messages
     */
    public static BlobToc parse(byte[] data, String resource, long fileOffset) throws CorruptImageException {
        if (data.length % ENTRY_SIZE != 0 || data.length / ENTRY_SIZE > MAX_ENTRIES) {
            throw new CorruptImageException(resource, fileOffset, "ToC size " + data.length
                    + " is not a multiple of " + ENTRY_SIZE + " up to " + MAX_ENTRIES + " entries");
        }
        List<Entry> list = new ArrayList<>();
        for (int off = 0; off < data.length; off += ENTRY_SIZE) {
            long at = fileOffset + off;
            int flags = (int) LE_INT.get(data, off + FLAGS_OFFSET);
            if (flags != FLAG_NONE && flags != FLAG_ZSTD && flags != FLAG_LZ4_BLOCK) {
                throw new CorruptImageException(resource, at, "ToC entry flags 0x" + Integer.toHexString(flags)
                        + ", expected exactly one of 0x1 none, 0x2 zstd, 0x4 lz4_block");
            }
            int nameLen = 0;
            while (nameLen < NAME_SIZE && data[off + NAME_OFFSET + nameLen] != 0) {
                byte c = data[off + NAME_OFFSET + nameLen];
                if (c < 0x21 || c > 0x7e) {
                    throw new CorruptImageException(resource, at + NAME_OFFSET, "ToC entry name is not printable ASCII");
                }
                nameLen++;
            }
            if (nameLen == 0) {
                throw new CorruptImageException(resource, at + NAME_OFFSET, "ToC entry with empty name");
            }
            String name = new String(data, off + NAME_OFFSET, nameLen, StandardCharsets.US_ASCII);
            byte[] digest = java.util.Arrays.copyOfRange(data, off + DIGEST_OFFSET, off + DIGEST_OFFSET + 32);
            long coff = (long) LE_LONG.get(data, off + COMPRESSED_OFFSET_OFFSET);
            long csize = (long) LE_LONG.get(data, off + COMPRESSED_SIZE_OFFSET);
            long usize = (long) LE_LONG.get(data, off + UNCOMPRESSED_SIZE_OFFSET);
            if (coff < 0 || csize < 0 || usize < 0) {
                throw new CorruptImageException(resource, at, "ToC entry '" + name + "' has an offset/size beyond 2^63");
            }
            list.add(new Entry(flags, name, digest, coff, csize, usize));
        }
        return new BlobToc(list);
    }
}
