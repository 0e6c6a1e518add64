package dev.nydus4j.storage.cache;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Persistent readiness bitmap of one cached blob, upstream's {@code <blob>.blob.data.chunk_map} (BACKENDS.md 10.2):
 *
 * <pre>
 * off  size  field
 * 0    u32   magic     0x424D4150
 * 4    u32   version   1
 * 8    u32   magic2    0x434D4150
 * 12   u32   all_ready 0x4D4D4150 when every chunk is ready, else 0
 * 16   u32   mode      nydus4j: cache data mode the bits refer to (reserved zero upstream)
 * 20   ...   zeros to 4096
 * 4096       bitmap, ceil(chunks/8) bytes, bit (0x80 >> i%8) of byte i/8 = chunk i ready
 * </pre>
 *
 * <p>A bit is set only after the chunk's bytes were completely written to the data file, so a crash can lose
 * bits (the chunk is fetched again) but never claims missing data. The mode field guards against a work_dir
 * reused with another cache mode (upstream names the map the same in both modes and would serve wrong bytes):
 * a map of another mode is discarded together with the data it describes. Thread-safe.
 */
public final class ChunkMap implements AutoCloseable {
    static final int MAGIC = 0x424D4150;
    static final int MAGIC2 = 0x434D4150;
    static final int ALL_READY = 0x4D4D4150;
    static final int HEADER_SIZE = 4096;
    private static final int MAGIC_OFFSET = 0;
    private static final int VERSION_OFFSET = 4;
    private static final int MAGIC2_OFFSET = 8;
    private static final int ALL_READY_OFFSET = 12;
    private static final int MODE_OFFSET = 16;

    /** Data mode stored in the map header. */
    public enum Mode {
        /** Plain chunk bytes at uncompressed offsets ({@code .blob.data}). */
        UNCOMPRESSED(1),
        /** Stored chunk bytes at compressed offsets ({@code .blob.raw}). */
        COMPRESSED(2);

        final int code;

        Mode(int code) {
            this.code = code;
        }
    }

    private final Path path;
    private final int chunkCount;
    private final FileChannel channel;
    private final MappedByteBuffer map;
    private int readyCount;
    private final boolean recreated;

    private ChunkMap(Path path, int chunkCount, FileChannel channel, MappedByteBuffer map, boolean recreated) {
        this.path = path;
        this.chunkCount = chunkCount;
        this.channel = channel;
        this.map = map;
        this.recreated = recreated;
        for (int i = 0; i < chunkCount; i++) {
            if (isReadyUnlocked(i)) {
                readyCount++;
            }
        }
    }

    /**
     * Opens or creates the map. A map whose size, magic or mode does not match is reset to "nothing ready"
     * ({@link #wasReset()} tells the caller to drop the data file too).
     */
    public static ChunkMap open(Path path, int chunkCount, Mode mode) throws IOException {
        if (chunkCount < 0) {
            throw new IllegalArgumentException("negative chunk count " + chunkCount);
        }
        long size = HEADER_SIZE + (chunkCount + 7L) / 8;
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            boolean reset = false;
            if (ch.size() != size) {
                reset = ch.size() != 0;
                ch.truncate(0);
                ch.write(java.nio.ByteBuffer.allocate((int) Math.min(size, Integer.MAX_VALUE)), 0);
            }
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
            m.order(ByteOrder.LITTLE_ENDIAN);
            boolean valid = m.getInt(MAGIC_OFFSET) == MAGIC && m.getInt(MAGIC2_OFFSET) == MAGIC2
                    && m.getInt(VERSION_OFFSET) == 1 && m.getInt(MODE_OFFSET) == mode.code;
            if (!valid) {
                boolean blank = m.getInt(MAGIC_OFFSET) == 0;
                reset |= !blank;
                for (int i = 0; i < size; i++) {
                    m.put(i, (byte) 0);
                }
                m.putInt(MAGIC_OFFSET, MAGIC);
                m.putInt(VERSION_OFFSET, 1);
                m.putInt(MAGIC2_OFFSET, MAGIC2);
                m.putInt(MODE_OFFSET, mode.code);
                m.force();
            }
            return new ChunkMap(path, chunkCount, ch, m, reset);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Whether an existing map had to be discarded (wrong size, magic or mode). */
    public boolean wasReset() {
        return recreated;
    }

    public int chunkCount() {
        return chunkCount;
    }

    public synchronized boolean isReady(int chunk) {
        check(chunk);
        return map.getInt(ALL_READY_OFFSET) == ALL_READY || isReadyUnlocked(chunk);
    }

    /** Marks a chunk ready; call only after its bytes are completely written. */
    public synchronized void setReady(int chunk) {
        check(chunk);
        if (isReadyUnlocked(chunk)) {
            return;
        }
        int idx = HEADER_SIZE + chunk / 8;
        map.put(idx, (byte) (map.get(idx) | (0x80 >>> (chunk % 8))));
        readyCount++;
        if (readyCount == chunkCount) {
            map.putInt(ALL_READY_OFFSET, ALL_READY);
            map.force();
        }
    }

    public synchronized int readyCount() {
        return readyCount;
    }

    private boolean isReadyUnlocked(int chunk) {
        return (map.get(HEADER_SIZE + chunk / 8) & (0x80 >>> (chunk % 8))) != 0;
    }

    private void check(int chunk) {
        if (chunk < 0 || chunk >= chunkCount) {
            throw new IndexOutOfBoundsException("chunk " + chunk + " outside 0.." + chunkCount + " of " + path);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (channel.isOpen()) {
            map.force();
            channel.close();
        }
    }
}
