package dev.nydus4j.storage.device;

import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.DigestAlgorithm;
import dev.nydus4j.storage.blob.BlobInfo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A zstd data blob built in memory (half compressible, half random chunks, 4 KiB-aligned plain space) and an
 * in-memory backend over it that counts requests and bytes and can inject faults.
 */
public final class TestBlob {
    public final String id;
    public final byte[] bytes;
    public final BlobInfo info;
    public final List<ChunkInfo> chunks = new ArrayList<>();
    public final List<byte[]> plains = new ArrayList<>();
    public final List<byte[]> digests = new ArrayList<>();

    /** {@code count} chunks of {@code minSize..maxSize} plain bytes. */
    public TestBlob(String id, int count, int minSize, int maxSize, long seed) {
        this.id = id;
        Random rnd = new Random(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long plainOff = 0;
        for (int i = 0; i < count; i++) {
            byte[] p = new byte[minSize + rnd.nextInt(maxSize - minSize + 1)];
            if (i % 2 == 0) {
                rnd.nextBytes(p);
            } else {
                for (int j = 0; j < p.length; j++) {
                    p[j] = (byte) ("nydus4j-" + i).charAt(j % ("nydus4j-" + i).length());
                }
            }
            byte[] c = CompressionAlgorithm.ZSTD.compress(p, 0, p.length);
            byte[] stored = c == null ? p : c;
            chunks.add(new ChunkInfo(i, out.size(), stored.length, plainOff, p.length, c != null, 0));
            out.writeBytes(stored);
            plainOff += (p.length + 4095) & ~4095L;
            plains.add(p);
            digests.add(DigestAlgorithm.BLAKE3.digest(p, 0, p.length));
        }
        bytes = out.toByteArray();
        info = new BlobInfo(id, 0, 1 << 20, count, CompressionAlgorithm.ZSTD.id(), DigestAlgorithm.BLAKE3.id(),
                BlobInfo.FEATURE_ALIGNED, bytes.length, plainOff, 0, 0, 0, 0, 0, new byte[32], new byte[32], 0);
    }

    /** Counting in-memory backend over this blob. */
    public Backend backend() {
        return new Backend();
    }

    /** In-memory backend: records every request; faults and delays are injected by tests. */
    public final class Backend implements BlobBackend {
        public final AtomicInteger requests = new AtomicInteger();
        public final AtomicLong bytesServed = new AtomicLong();
        public final List<long[]> ranges = Collections.synchronizedList(new ArrayList<>());
        /** When set, a request copies half its range and then throws this. */
        public volatile IOException failMidway;
        public volatile long delayMillis;
        /** Byte offset to flip in served data, or -1. */
        public volatile long corruptAt = -1;

        @Override
        public String blobId() {
            return id;
        }

        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            requests.incrementAndGet();
            if (delayMillis > 0) {
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException();
                }
            }
            if (position >= bytes.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), bytes.length - position);
            IOException fail = failMidway;
            if (fail != null) {
                dst.put(bytes, (int) position, n / 2);
                throw fail;
            }
            int start = dst.position();
            dst.put(bytes, (int) position, n);
            long c = corruptAt;
            if (c >= position && c < position + n) {
                int i = start + (int) (c - position);
                dst.put(i, (byte) (dst.get(i) ^ 0x5A));
            }
            ranges.add(new long[] {position, n});
            bytesServed.addAndGet(n);
            return n;
        }

        @Override
        public void close() {
        }
    }
}
