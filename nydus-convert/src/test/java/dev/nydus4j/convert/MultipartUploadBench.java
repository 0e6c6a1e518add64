package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.backend.s3.S3BackendProvider;
import dev.nydus4j.spi.BlobBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Not a test: uploads one blob (default 256 MiB, {@code -Dnydus4j.bench.mib=N}) to s3proxy in a child JVM with a
 * filesystem store (SigV4 enforced), with one PUT and in parts, and prints time, throughput and the peak heap of
 * this (the uploading) JVM. Run with
 * {@code mvn -B -o -pl nydus-convert surefire:test -Dtest=MultipartUploadBench -Dnydus4j.bench=true}.
 */
@EnabledIfSystemProperty(named = "nydus4j.bench", matches = "true")
class MultipartUploadBench {
    @TempDir
    Path tmp;

    @Test
    void uploadThroughput() throws Exception {
        long mib = Long.getLong("nydus4j.bench.mib", 256);
        Path blob = tmp.resolve("blob");
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(7);
        try (OutputStream out = Files.newOutputStream(blob)) {
            for (long i = 0; i < mib; i++) {
                random.nextBytes(chunk);
                sha.update(chunk);
                out.write(chunk);
            }
        }
        String hex = HexFormat.of().formatHex(sha.digest());
        // s3proxy in its own JVM, so the heap figures below are the uploader's alone
        Path store = Files.createDirectories(tmp.resolve("store"));
        Files.createDirectories(store.resolve("nydus"));
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path props = Files.writeString(tmp.resolve("s3proxy.conf"), String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port, "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=bench-ak", "s3proxy.credential=bench-sk", "jclouds.provider=filesystem-nio2",
                "jclouds.filesystem.basedir=" + store,
                // the default (128 MiB) would refuse the single PUT compared here
                "s3proxy.v4-max-non-chunked-request-size=4294967296", ""));
        Process proxy = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dslf4j.provider=ch.qos.logback.classic.spi.LogbackServiceProvider", "-cp", System.getProperty("java.class.path"), "org.gaul.s3proxy.Main", "--properties",
                props.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("s3proxy.log").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    break;
                } catch (java.io.IOException e) {
                    if (!proxy.isAlive()) {
                        throw new IllegalStateException("s3proxy exited: " + Files.readString(tmp.resolve("s3proxy.log")));
                    }
                    assertThat(System.nanoTime()).as("s3proxy starts").isLessThan(deadline);
                    Thread.sleep(100);
                }
            }
            var single = new ExternalBlobBackend.ObjectStoreBlobBackend.Upload(Long.MAX_VALUE, 32L << 20, 3, 4,
                    Duration.ofMillis(500));
            var parts3 = new ExternalBlobBackend.ObjectStoreBlobBackend.Upload(64L << 20, 32L << 20, 3, 4,
                    Duration.ofMillis(500));
            var parts1 = new ExternalBlobBackend.ObjectStoreBlobBackend.Upload(64L << 20, 32L << 20, 1, 4,
                    Duration.ofMillis(500));
            for (int round = 0; round < 2; round++) {
                run("single PUT", port, single, hex, blob, mib, "r" + round + "-single/");
                run("parts 32 MiB x3", port, parts3, hex, blob, mib, "r" + round + "-p3/");
                run("parts 32 MiB x1", port, parts1, hex, blob, mib, "r" + round + "-p1/");
            }
        } finally {
            proxy.destroy();
            proxy.waitFor();
        }
    }

    private static void run(String name, int port, ExternalBlobBackend.ObjectStoreBlobBackend.Upload upload,
                            String hex, Path blob, long mib, String prefix) throws Exception {
        ObjectNode config = (ObjectNode) Manifest.JSON.createObjectNode().put("scheme", "http")
                .put("endpoint", "127.0.0.1:" + port).put("region", "us-east-1")
                .put("bucket_name", "nydus").put("object_prefix", prefix).put("access_key_id", "bench-ak")
                .put("access_key_secret", "bench-sk");
        ExternalBlobBackend backend = ExternalBlobBackend.ObjectStoreBlobBackend.of(
                new S3BackendProvider(Map.of()), config, true, upload);
        System.gc();
        long baseline = heapUsed();
        ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
        long t0 = System.nanoTime();
        assertThat(backend.push(hex, blob)).isTrue();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long peak = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        try (BlobBackend b = backend.open(hex)) {
            assertThat(b.size()).isEqualTo(mib << 20);
            ByteBuffer tail = ByteBuffer.allocate(4096);
            b.read(tail, (mib << 20) - 4096);
        }
        System.out.printf("BENCH %-16s %4d MiB in %6d ms = %6.1f MiB/s; heap peak %d MiB (baseline %d MiB)%n", name,
                mib, ms, mib * 1000.0 / ms, peak >> 20, baseline >> 20);
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
                .mapToLong(p -> p.getUsage().getUsed()).sum();
    }
}
