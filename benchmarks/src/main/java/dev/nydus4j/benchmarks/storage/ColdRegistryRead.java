package dev.nydus4j.benchmarks.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.config.CacheConfig;
import dev.nydus4j.api.config.PrefetchConfig;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.storage.ChunkInfo;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.blob.BlobInfo;
import dev.nydus4j.storage.cache.CacheRegistry;
import dev.nydus4j.storage.device.BlobDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cold reads of a RAFS image whose blob is in a real registry (driven by {@code benchmarks/scripts/storage-cold-read.sh}):
 * opens the bootstrap over the {@code registry} backend with an empty blobcache, reads files, and prints the
 * backend requests and bytes the blob device made, the distinct chunk bytes the reads needed, and the file bytes
 * read. Needs the registry backend on the class path (the CLI jar).
 *
 * <p>Args: bootstrap host repo work_dir amplify_io mode(seq|random|sample) [fraction] [seed] [always|adaptive]
 */
public final class ColdRegistryRead {
    private ColdRegistryRead() {
    }

    public static void main(String[] args) throws Exception {
        Path bootstrap = Path.of(args[0]);
        String host = args[1];
        String repo = args[2];
        Path work = Path.of(args[3]);
        long amplify = Long.parseLong(args[4]);
        String mode = args[5];
        double fraction = args.length > 6 ? Double.parseDouble(args[6]) : 1.0;
        long seed = args.length > 7 ? Long.parseLong(args[7]) : 1;
        BlobDevice.Amplification policy = args.length > 8
                ? BlobDevice.Amplification.valueOf(args[8].toUpperCase()) : BlobDevice.Amplification.ALWAYS;

        BackendRegistry backends = BackendRegistry.discover();
        ObjectNode node = new ObjectMapper().createObjectNode().put("host", host).put("repo", repo)
                .put("scheme", "http");
        Object bound = backends.bindConfig("registry", node, "backend.registry");
        BlobDevice device = BlobDevice.builder()
                .backend((id, ctx) -> backends.open("registry", bound, id, ctx))
                .cache(CacheRegistry.discover(), new CacheConfig("blobcache", false, true, PrefetchConfig.DISABLED,
                        work.toString()))
                .amplifyIo(amplify).amplification(policy).build();
        Needed needed = new Needed(device);
        long fileBytes = 0;
        long t0 = System.nanoTime();
        int count;
        try (RafsImage image = RafsImage.open(bootstrap, needed)) {
            List<long[]> files = new ArrayList<>(); // ino, size, in depth-first name order
            Deque<Long> dirs = new ArrayDeque<>();
            dirs.push(image.rootInode());
            while (!dirs.isEmpty()) {
                long d = dirs.pop();
                List<DirEntry> es = new ArrayList<>(image.readdir(d));
                Collections.reverse(es);
                for (DirEntry e : es) {
                    if (e.name().equals(".") || e.name().equals("..")) {
                        continue;
                    }
                    if (e.type() == FileType.DIRECTORY) {
                        dirs.push(e.ino());
                    } else if (e.type() == FileType.REGULAR) {
                        InodeAttributes a = image.getattr(e.ino());
                        files.add(new long[] {e.ino(), a.size()});
                    }
                }
            }
            Collections.reverse(files); // stack order reversed back to name order
            if (!mode.equals("seq")) {
                Collections.shuffle(files, new Random(seed));
            }
            count = mode.equals("sample") ? Math.max(1, (int) (files.size() * fraction)) : files.size();
            ByteBuffer buf = ByteBuffer.allocate(128 << 10);
            for (long[] f : files.subList(0, count)) {
                long off = 0;
                while (off < f[1]) {
                    buf.clear();
                    int n = image.read(f[0], off, buf);
                    if (n <= 0) {
                        throw new IOException("short read of inode " + f[0] + " at " + off);
                    }
                    off += n;
                }
                fileBytes += f[1];
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            double mib = fileBytes / 1048576.0;
            System.out.printf("mode=%s policy=%s amplify_io=%d files=%d file_MiB=%.1f backend_requests=%d backend_bytes=%d"
                            + " needed_chunk_bytes=%d requests_per_MiB=%.2f fetched_over_needed=%.3f ms=%d%n",
                    mode + (mode.equals("sample") ? "(" + fraction + ")" : ""), policy.name().toLowerCase(), amplify,
                    count, mib,
                    device.backendReadCount(), device.backendReadBytes(), needed.bytes(),
                    device.backendReadCount() / Math.max(mib, 1e-9),
                    device.backendReadBytes() / (double) Math.max(needed.bytes(), 1), ms);
        }
    }

    /** Passes everything to the device and records the distinct chunks reads asked for. */
    private static final class Needed implements ChunkReader {
        private final ChunkReader d;
        private final Map<String, Integer> chunks = new ConcurrentHashMap<>();

        Needed(ChunkReader d) {
            this.d = d;
        }

        long bytes() {
            return chunks.values().stream().mapToLong(Integer::longValue).sum();
        }

        private void note(BlobInfo b, ChunkInfo c) {
            chunks.putIfAbsent(b.blobId() + ":" + c.index(), c.compressedSize());
        }

        @Override
        public void readChunk(BlobInfo blob, ChunkInfo info, byte[] digest, byte[] dst) throws IOException {
            note(blob, info);
            d.readChunk(blob, info, digest, dst);
        }

        @Override
        public boolean readCached(BlobInfo blob, ChunkInfo info, int from, ByteBuffer dst) throws IOException {
            note(blob, info);
            return d.readCached(blob, info, from, dst);
        }

        @Override
        public void addChunks(BlobInfo blob, List<ChunkInfo> cs, List<byte[]> digests) throws IOException {
            d.addChunks(blob, cs, digests);
        }

        @Override
        public void close() throws IOException {
            d.close();
        }
    }
}
