package dev.nydus4j.backend.registry;

import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.storage.CompressionAlgorithm;
import dev.nydus4j.storage.device.BlobDevice;
import dev.nydus4j.testkit.oci.LocalRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Images built with the project's builder, their blob pushed to a real docker-registry, read through
 * {@link RafsImage} + {@link BlobDevice} + the registry backend; what was fetched is taken from the registry's own
 * access log, not from our metrics.
 *
 * <p>Laziness: a 1 GiB file plus a 10-byte file. The big file is sparse on disk, but every 1 MiB chunk carries its
 * index so no two chunks are equal (no dedup), and the blob is stored uncompressed, so the blob pushed to the
 * registry really spans 1 GiB. Reading the 10-byte file must fetch at most chunk size x amplification.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryImageTest {
    private static final long GIB = 1L << 30;
    private static final int CHUNK = BuildOptions.DEFAULT_CHUNK_SIZE;
    private static final String REPO = "lazy/app";

    private Path dir;
    private LocalRegistry registry;

    @BeforeAll
    void start() throws Exception {
        LocalRegistry.assumeInstalled();
        dir = Files.createTempDirectory("registry-image");
        registry = LocalRegistry.start(dir.resolve("registry"));
    }

    @AfterAll
    void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private RegistryConfig config() {
        return RegistryConfig.of(registry.host(), REPO).withTls("http", false, List.of()).withTimeouts(120, 5, 0);
    }

    private BuildResult buildAndPush(Path src, String name, CompressionAlgorithm compressor) throws IOException {
        Path blobs = Files.createDirectories(dir.resolve(name + "-blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR)
                .withCompressor(compressor)).build(src, dir.resolve(name + ".boot"), null, blobs);
        assertThat(r.blobIds()).hasSize(1);
        try (RegistryClient c = RegistryClient.open(config(), Map.of())) {
            c.pushBlob(REPO, "sha256:" + r.blobIds().get(0), blobs.resolve(r.blobIds().get(0)));
        }
        return r;
    }

    private RafsImage open(BuildResult r, BlobDevice device) throws IOException {
        return open(r, device, true);
    }

    private RafsImage open(BuildResult r, BlobDevice device, boolean validate) throws IOException {
        return RafsImage.open(Bootstraps.read(r.bootstrap()), Bootstraps.version(r.bootstrap()), device, validate);
    }

    private BlobDevice device() throws IOException {
        return device(true);
    }

    private BlobDevice device(boolean validate) throws IOException {
        RegistryBackendProvider p = new RegistryBackendProvider(Map.of());
        return new BlobDevice(id -> p.open(config(), id, BackendContext.simple("/")), null, validate);
    }

    private static byte[] readFile(RafsImage fs, String path) throws IOException {
        InodeAttributes a = fs.resolve(path).orElseThrow();
        ByteBuffer dst = ByteBuffer.allocate((int) a.size());
        while (dst.hasRemaining()) {
            int n = fs.read(a.ino(), dst.position(), dst);
            assertThat(n).isPositive();
        }
        return dst.array();
    }

    @Test
    void readingTenBytesOfAOneGibImageFetchesAtMostOneAmplifiedChunk() throws Exception {
        Path src = Files.createDirectories(dir.resolve("lazy-src"));
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("big.bin").toFile(), "rw")) {
            f.setLength(GIB);
            for (long i = 0; i < GIB / CHUNK; i++) {
                f.seek(i * CHUNK + (i % 4096));
                f.writeLong(i * 0x9E3779B97F4A7C15L + 1);
            }
        }
        Files.writeString(src.resolve("ten.txt"), "0123456789");
        long t0 = System.nanoTime();
        BuildResult r = buildAndPush(src, "lazy", CompressionAlgorithm.NONE);
        long blobSize = Files.size(r.blob() != null ? r.blob() : dir.resolve("lazy-blobs").resolve(r.blobIds().get(0)));
        System.out.printf("1 GiB image built and pushed in %d ms, blob %d bytes%n", (System.nanoTime() - t0) / 1_000_000,
                blobSize);
        assertThat(blobSize).as("blob spans 1 GiB").isGreaterThanOrEqualTo(GIB);
        String blobId = r.blobIds().get(0);

        int logBefore = registry.accessLog().size();
        try (BlobDevice device = device(); RafsImage fs = open(r, device)) {
            assertThat(readFile(fs, "/ten.txt")).isEqualTo("0123456789".getBytes(StandardCharsets.US_ASCII));
            List<LocalRegistry.Access> log = registry.awaitAccessLog(logBefore + 1);
            List<LocalRegistry.Access> gets = log.subList(logBefore, log.size()).stream()
                    .filter(a -> a.isBlobGet(blobId)).toList();
            long fetched = gets.stream().mapToLong(LocalRegistry.Access::bytes).sum();
            long bound = (long) Math.max(CHUNK, device.mergeLimit());
            System.out.printf("registry access log: %d blob GETs, %d bytes fetched for a 10-byte file (bound %d)%n",
                    gets.size(), fetched, bound);
            assertThat(gets).as("blob GETs in the registry's access log").isNotEmpty()
                    .allSatisfy(a -> assertThat(a.status()).isEqualTo(206));
            assertThat(fetched).isBetween(10L, bound);
        }
    }

    @Test
    void wrongBytesFromTheRegistryAreAnIoErrorNeverServed() throws Exception {
        Path src = Files.createDirectories(dir.resolve("corrupt-src"));
        byte[] victim = new byte[300_000];
        new Random(17).nextBytes(victim);
        Files.write(src.resolve("victim.bin"), victim);
        Files.writeString(src.resolve("healthy.txt"), "fine\n".repeat(50));
        BuildResult r = buildAndPush(src, "corrupt", CompressionAlgorithm.NONE);
        String blobId = r.blobIds().get(0);
        // flip one byte of the victim's data inside the registry's own storage: it serves it without checking
        Path stored = registry.blobData("sha256:" + blobId);
        byte[] bytes = Files.readAllBytes(stored);
        int at = indexOf(bytes, Arrays.copyOfRange(victim, 2000, 2064));
        assertThat(at).isNotNegative();
        bytes[at + 7] ^= 0x20;
        Files.write(stored, bytes);

        try (BlobDevice device = device(); RafsImage fs = open(r, device)) {
            assertThatThrownBy(() -> readFile(fs, "/victim.bin")).isInstanceOf(IOException.class)
                    .hasMessageContaining(blobId.substring(0, 12));
            assertThat(readFile(fs, "/healthy.txt")).isEqualTo("fine\n".repeat(50).getBytes(StandardCharsets.US_ASCII));
            // not cached, not served on a second try either
            assertThatThrownBy(() -> readFile(fs, "/victim.bin")).isInstanceOf(IOException.class);
        }
        // control: without digest validation the flipped byte does come back, so the error above is the check's
        try (BlobDevice device = device(false); RafsImage fs = open(r, device, false)) {
            byte[] served = readFile(fs, "/victim.bin");
            assertThat(served).hasSameSizeAs(victim).isNotEqualTo(victim);
            assertThat(served[2007]).isEqualTo((byte) (victim[2007] ^ 0x20));
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
