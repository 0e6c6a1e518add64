package dev.nydus4j.rafs;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.ChunkReader;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Bit-flip and truncation properties of the whole read path (Bootstraps + RafsImage + LocalChunkReader): every
 * damaged bootstrap or blob either reads successfully — and then every regular file that exists in both the
 * intact and the damaged image has exactly the intact bytes — or fails with an {@link IOException} (normally
 * {@link dev.nydus4j.api.CorruptImageException}). Never another exception type, never a hang, never wrong bytes.
 * Every damaged image is read both whole ({@link Bootstraps#read}) and in direct mode ({@link RafsImage#openDirect},
 * structures decoded as the walk touches them).
 */
class BitFlipTest {
    private static final int TRIALS = 300;
    private static final Duration PER_TRIAL = Duration.ofSeconds(20);

    /** One image: bootstrap bytes and the blob files it reads. */
    private record Image(String name, byte[] bootstrap, Path blobDir, Function<Path, ChunkReader> readers) {
    }

    private static Image v5Sha256() throws IOException {
        return fixtureV5("repeatable/sha256-nocompress-repeatable");
    }

    private static Image fixtureV5(String path) throws IOException {
        return new Image(path, Files.readAllBytes(Fixtures.upstream(path)), Fixtures.upstream("repeatable/blobs"),
                LocalChunkReader::forDirectory);
    }

    private static Image v6() throws IOException {
        return new Image("bootstrap/rafs-v6-2.2.boot", Files.readAllBytes(Fixtures.upstream("bootstrap/rafs-v6-2.2.boot")),
                Fixtures.upstream("blobs"), LocalChunkReader::forDirectory);
    }

    @Test
    void bootstrapBitFlips() throws Exception {
        for (Image img : List.of(v5Sha256(), fixtureV5("repeatable/blake3-lz4_block-non_repeatable"), v6(), tocInlined())) {
            runBootstrapFlips(img, TRIALS);
        }
    }

    @Test
    void generatedV6BootstrapBitFlips(@TempDir Path tmp) throws Exception {
        SyntheticImage s = SyntheticImage.create(tmp, 5, false);
        byte[] boot = dev.nydus4j.rafs.v6.RafsV6Writer.toBytes(s.tree);
        runBootstrapFlips(new Image("generated v6", boot, s.blobFile, LocalChunkReader::forFile), TRIALS);
    }

    @Test
    void builderImageBitFlips(@TempDir Path tmp) throws Exception {
        // a real v6 image from the builder: zstd chunks, blob.meta, blob.digest, ToC
        SyntheticImage s = SyntheticImage.create(Files.createDirectories(tmp.resolve("src")), 17, false);
        java.io.ByteArrayOutputStream tar = new java.io.ByteArrayOutputStream();
        try (RafsImage fs = RafsImage.open(s.tree, dev.nydus4j.rafs.fixtures.DirectoryChunkReader.forFile(s.blobFile))) {
            dev.nydus4j.rafs.unpack.TarUnpacker.unpack(fs, tar);
        }
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("built.boot");
        dev.nydus4j.rafs.builder.BuildResult r = new dev.nydus4j.rafs.builder.ImageBuilder(
                dev.nydus4j.rafs.builder.BuildOptions.defaults())
                .build(new java.io.ByteArrayInputStream(tar.toByteArray()), boot, null, blobs);
        Image img = new Image("builder v6", Files.readAllBytes(boot), blobs, LocalChunkReader::forDirectory);
        runBootstrapFlips(img, TRIALS);
        runBlobFlips(img, r.newBlobId(), tmp, TRIALS);
    }

    @Test
    void bootstrapTruncationAtEvery512Bytes() throws Exception {
        for (Image img : List.of(v5Sha256(), v6(), tocInlined())) {
            Map<String, String> intact = readAll(img.bootstrap, img);
            for (int len = 0; len < img.bootstrap.length; len += 512) {
                byte[] cut = java.util.Arrays.copyOf(img.bootstrap, len);
                String what = img.name + " truncated to " + len;
                Outcome o = trial(what, () -> readAll(cut, img));
                assertThat(o.failed).as("%s must fail: %s", what, o.contents).isTrue();
                Outcome d = trial(what + " direct", () -> readAllDirect(cut, img));
                assertThat(d.failed).as("%s must fail in direct mode: %s", what, d.contents).isTrue();
            }
            assertThat(intact).isNotEmpty();
        }
    }

    @Test
    void blobBitFlips(@TempDir Path tmp) throws Exception {
        for (Image img : List.of(v5Sha256(), v6())) {
            String blobId = Bootstraps.read(img.bootstrap, img.name).blobs.get(0).blobId();
            long size = Files.size(img.blobDir.resolve(blobId));
            runBlobFlips(img, blobId, tmp, size > 1 << 20 ? 60 : TRIALS); // the v5 blob is 3.5 MB: keep it short
        }
    }

    private void runBlobFlips(Image img, String blobId, Path tmp, int trials) throws Exception {
        Map<String, String> intact = readAll(img.bootstrap, img);
        byte[] blob = Files.readAllBytes(img.blobDir.resolve(blobId));
        long seed = Long.getLong("nydus4j.bitflip.seed", System.nanoTime()); // a failure prints its seed: rerun it
        System.out.println("BitFlipTest blob flips of " + img.name + " seed=" + seed);
        Random rnd = new Random(seed);
        Path dir = Files.createDirectories(tmp.resolve("flip-" + Math.abs(img.name.hashCode())));
        int failed = 0;
        for (int t = 0; t < trials; t++) {
            int off = rnd.nextInt(blob.length);
            int bit = rnd.nextInt(8);
            blob[off] ^= (byte) (1 << bit);
            Files.write(dir.resolve(blobId), blob);
            blob[off] ^= (byte) (1 << bit);
            Image damaged = new Image(img.name, img.bootstrap, dir, img.readers);
            String what = img.name + " blob byte " + off + " bit " + bit + " (seed " + seed + ")";
            Outcome o = trial(what, () -> readAll(img.bootstrap, damaged));
            if (o.failed) {
                failed++;
            } else {
                assertSameContents(what, intact, o.contents);
            }
            if (t % 4 == 0) {
                Outcome d = trial(what + " direct", () -> readAllDirect(img.bootstrap, damaged));
                if (!d.failed) {
                    assertSameContents(what + " direct", intact, d.contents);
                }
            }
        }
        System.out.println("  " + failed + " of " + trials + " blob flips detected");
    }

    @Test
    void blobTruncation(@TempDir Path tmp) throws Exception {
        for (Image img : List.of(v5Sha256(), v6())) {
            String blobId = Bootstraps.read(img.bootstrap, img.name).blobs.get(0).blobId();
            byte[] blob = Files.readAllBytes(img.blobDir.resolve(blobId));
            Map<String, String> intact = readAll(img.bootstrap, img);
            Path dir = Files.createDirectories(tmp.resolve("cut-" + Math.abs(img.name.hashCode())));
            // every 512-byte boundary of the small blob; every 64 KiB of the 3.5 MB one
            int step = blob.length > 1 << 20 ? 64 << 10 : 512;
            for (int len = 0; len < blob.length; len += step) {
                Files.write(dir.resolve(blobId), java.util.Arrays.copyOf(blob, len));
                Image damaged = new Image(img.name, img.bootstrap, dir, img.readers);
                String what = img.name + " blob truncated to " + len;
                Outcome o = trial(what, () -> readAll(img.bootstrap, damaged));
                if (!o.failed) {
                    assertSameContents(what, intact, o.contents);
                }
                Outcome d = trial(what + " direct", () -> readAllDirect(img.bootstrap, damaged));
                if (!d.failed) {
                    assertSameContents(what + " direct", intact, d.contents);
                }
            }
        }
    }

    private void runBootstrapFlips(Image img, int trials) throws Exception {
        Map<String, String> intact = readAll(img.bootstrap, img);
        long seed = Long.getLong("nydus4j.bitflip.seed", System.nanoTime()); // a failure prints its seed: rerun it
        System.out.println("BitFlipTest bootstrap flips of " + img.name + " seed=" + seed);
        Random rnd = new Random(seed);
        int failed = 0;
        int failedDirect = 0;
        for (int t = 0; t < trials; t++) {
            byte[] b = img.bootstrap.clone();
            int off = rnd.nextInt(b.length);
            int bit = rnd.nextInt(8);
            b[off] ^= (byte) (1 << bit);
            String what = img.name + " byte " + off + " bit " + bit + " (seed " + seed + ")";
            Outcome o = trial(what, () -> readAll(b, img));
            if (o.failed) {
                failed++;
            } else {
                assertSameContents(what, intact, o.contents);
            }
            Outcome d = trial(what + " direct", () -> readAllDirect(b, img));
            if (d.failed) {
                failedDirect++;
            } else {
                assertSameContents(what + " direct", intact, d.contents);
            }
        }
        System.out.println("  " + failed + " of " + trials + " bootstrap flips rejected (direct mode: " + failedDirect
                + ")");
    }

    private static Image tocInlined() throws IOException {
        Path blob = Fixtures.upstream("toc/2fa78cad554b75ac91a4a125ed148d0ddeb25efa4aaa8bd80e5dc292690a4dca");
        byte[] boot;
        try (BlobFile bf = BlobFile.open(blob)) {
            boot = bf.inlinedBootstrap().orElseThrow();
        }
        return new Image("toc inlined bootstrap", boot, blob, LocalChunkReader::forFile);
    }

    private static void assertSameContents(String what, Map<String, String> intact, Map<String, String> got) {
        for (Map.Entry<String, String> e : got.entrySet()) {
            String before = intact.get(e.getKey());
            if (before != null) {
                assertThat(e.getValue()).as("%s: content of %s", what, e.getKey()).isEqualTo(before);
            }
        }
    }

    /** Path → sha256 of every regular file, after walking every attribute through the public API. */
    private static Map<String, String> readAll(byte[] bootstrap, Image img) throws IOException {
        RafsTree tree = Bootstraps.read(bootstrap, img.name);
        Map<String, String> out = new TreeMap<>();
        try (RafsImage fs = RafsImage.open(tree, Bootstraps.version(bootstrap, img.name), img.readers.apply(img.blobDir), true)) {
            for (TreeSnapshot.Entry e : TreeSnapshot.of(fs).entries().values()) {
                if (e.type() == FileType.REGULAR) {
                    out.put(e.path(), e.sha256());
                }
            }
        }
        return out;
    }

    /** As {@link #readAll}, with the image opened in direct mode (v6 decoded on demand; v5 whole). */
    private static Map<String, String> readAllDirect(byte[] bootstrap, Image img) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (RafsImage fs = RafsImage.openDirect(bootstrap, img.name, img.readers.apply(img.blobDir), true)) {
            for (TreeSnapshot.Entry e : TreeSnapshot.of(fs).entries().values()) {
                if (e.type() == FileType.REGULAR) {
                    out.put(e.path(), e.sha256());
                }
            }
            fs.prefetchPaths();
            fs.stats();
        }
        return out;
    }

    private interface Read {
        Map<String, String> run() throws IOException;
    }

    private record Outcome(boolean failed, Map<String, String> contents) {
    }

    private static Outcome trial(String what, Read read) {
        return assertTimeoutPreemptively(PER_TRIAL, () -> {
            try {
                return new Outcome(false, read.run());
            } catch (IOException e) {
                return new Outcome(true, Map.of());
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                throw new AssertionError(what + ": expected success or an IOException, got " + e, e);
            }
        }, what + " did not finish in " + PER_TRIAL);
    }

    @SuppressWarnings("unused")
    private static List<Integer> positions(int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }
}
