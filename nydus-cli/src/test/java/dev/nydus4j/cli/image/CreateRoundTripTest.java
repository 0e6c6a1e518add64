package dev.nydus4j.cli.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.TreeGenerator;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * create (dir, tar, tar.gz) with every compressor and digester, then check, then compare the image with the source
 * twice: through the library read API, and through {@code unpack} extracted by GNU tar.
 */
class CreateRoundTripTest {
    static final int CHUNK = 0x10000;

    @TempDir
    static Path shared;
    static Path src;
    static Path tar;
    static Path targz;
    static TreeSnapshot expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void generate() throws IOException {
        src = shared.resolve("src");
        TreeGenerator.Generated g = TreeGenerator.generate(src,
                TreeGenerator.options().seed(Long.getLong("nydus.seed", 20261128L)).chunkSize(CHUNK).scale(0.5));
        System.out.println("CreateRoundTripTest source seed " + g.seed() + " (rerun with -Dnydus.seed=" + g.seed() + ")");
        TreeSnapshot s = TreeSnapshot.of(src);
        // GNU tar cannot archive sockets; drop them from the source so all three source kinds hold the same tree
        for (TreeSnapshot.Entry e : s.entries().values()) {
            if (e.type() == FileType.SOCKET) {
                Files.delete(src.resolve(e.path().substring(1)));
            }
        }
        expected = TreeSnapshot.of(src);
        if (ExternalCommand.available("tar")) {
            tar = shared.resolve("src.tar");
            targz = shared.resolve("src.tar.gz");
            ExternalCommand.tar(src, tar, false);
            ExternalCommand.tar(src, targz, true);
        }
    }

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (String type : List.of("dir-rafs", "tar-rafs", "targz-rafs")) {
            for (String comp : List.of("none", "lz4_block", "zstd")) {
                for (String dig : List.of("blake3", "sha256")) {
                    out.add(Arguments.of(type, comp, dig));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("matrix")
    void createCheckUnpackEqualsSource(String type, String compressor, String digester) throws Exception {
        Path source = switch (type) {
            case "dir-rafs" -> src;
            case "tar-rafs" -> tar;
            default -> targz;
        };
        assumeTrue(source != null, "GNU tar not available");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("image.boot");
        Path json = tmp.resolve("out.json");
        CliRun.ok("create", "--log-level", "warn", "-t", type, "--compressor", compressor, "--digester", digester,
                "--chunk-size", "0x" + Integer.toHexString(CHUNK), "-B", boot.toString(), "-D", blobs.toString(),
                "-J", json.toString(), source.toString());

        JsonNode result = new ObjectMapper().readTree(json.toFile());
        assertThat(result.fieldNames()).toIterable().contains("version", "bootstrap", "blobs", "fs_version", "compressor", "trace");
        assertThat(result.get("bootstrap").asText()).isEqualTo(boot.toString());
        assertThat(result.get("fs_version").asText()).isEqualTo("6");
        assertThat(result.get("compressor").asText()).isEqualTo(compressor);
        assertThat(result.get("blobs")).hasSize(1);
        String blobId = result.get("blobs").get(0).asText();
        assertThat(blobId).matches("[0-9a-f]{64}");
        assertThat(blobs.resolve(blobId)).isRegularFile();

        CliRun check = CliRun.ok("check", "--log-level", "warn", "-D", blobs.toString(), boot.toString());
        assertThat(check.out()).contains("RAFS filesystem metadata is valid, referenced data blobs:", "0: " + blobId);

        TreeSnapshot.Field[] ignore = {};
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(blobs);
             RafsImage image = RafsImage.open(boot, reader)) {
            List<String> diff = expected.without("/").diff(TreeSnapshot.of(image).without("/"), ignore);
            assertThat(diff).as("image read through the library vs source").isEmpty();
        }

        Path out = tmp.resolve("unpacked.tar");
        CliRun.ok("unpack", "--log-level", "warn", "-D", blobs.toString(), "--output", out.toString(), boot.toString());
        Path extracted = tmp.resolve("extracted");
        ExternalCommand.untar(out, extracted);
        List<String> diff = expected.without("/").diff(TreeSnapshot.of(extracted).without("/"),
                TreeSnapshot.Field.DIR_NLINK, TreeSnapshot.Field.DIR_MTIME);
        assertThat(diff).as("unpacked tar extracted by GNU tar vs source").isEmpty();
    }

    @Test
    void inlinedMetadataBlobCanBeMergedInspectedAndUnpacked() throws Exception {
        Path blob = tmp.resolve("layer.blob");
        CliRun.ok("create", "--log-level", "warn", "-t", "dir-rafs", "--blob-inline-meta", "--features", "blob-toc",
                "--chunk-size", "0x" + Integer.toHexString(CHUNK), "-b", blob.toString(), src.toString());
        Path merged = tmp.resolve("merged.boot");
        Path json = tmp.resolve("merge.json");
        CliRun.ok("merge", "--log-level", "warn", "-B", merged.toString(), "-J", json.toString(), blob.toString());
        JsonNode result = new ObjectMapper().readTree(json.toFile());
        assertThat(result.get("blobs")).hasSize(1);
        String id = result.get("blobs").get(0).asText();
        assertThat(id).isEqualTo(MergeCommand.sha256Hex(Files.readAllBytes(blob)));

        CliRun ls = CliRun.ok("inspect", "--log-level", "warn", "-R", "ls", merged.toString());
        JsonNode entries = new ObjectMapper().readTree(ls.out()).get("entries");
        List<String> names = new ArrayList<>();
        entries.forEach(e -> names.add(e.get("name").asText()));
        List<String> top = expected.entries().keySet().stream()
                .filter(p -> p.lastIndexOf('/') == 0 && p.length() > 1).map(p -> p.substring(1)).toList();
        assertThat(names).containsExactlyInAnyOrderElementsOf(top);

        Path out = tmp.resolve("u.tar");
        CliRun.ok("unpack", "--log-level", "warn", "--output", out.toString(), blob.toString());
        Path extracted = tmp.resolve("x");
        ExternalCommand.untar(out, extracted);
        assertThat(expected.without("/").diff(TreeSnapshot.of(extracted).without("/"), TreeSnapshot.Field.DIR_NLINK,
                TreeSnapshot.Field.DIR_MTIME)).isEmpty();
    }

    @Test
    void prefetchListFromStdinEndsUpInTheImage() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("p.boot");
        String first = expected.entries().values().stream().filter(e -> e.type() == FileType.REGULAR)
                .map(TreeSnapshot.Entry::path).findFirst().orElseThrow();
        CliRun r = CliRun.runWithStdin(first + "\nnot/absolute\n", "create", "--log-level", "warn",
                "--prefetch-policy", "fs", "-B", boot.toString(), "-D", blobs.toString(), src.toString());
        assertThat(r.exitCode()).as(r.toString()).isZero();
        CliRun p = CliRun.ok("inspect", "-R", "prefetch", boot.toString());
        assertThat(new ObjectMapper().readTree(p.out())).hasSize(1);
        assertThat(p.out()).contains(first);
    }

    @Test
    void statAndInspectDescribeTheImage() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("s.boot");
        CliRun.ok("create", "--log-level", "warn", "-B", boot.toString(), "-D", blobs.toString(), src.toString());
        long files = expected.entries().values().stream().filter(e -> e.type() == FileType.REGULAR)
                .map(e -> e.linkGroup() == null ? e.path() : e.linkGroup()).distinct().count();
        Path json = tmp.resolve("stat.json");
        CliRun st = CliRun.ok("stat", "-B", boot.toString(), "-J", json.toString());
        assertThat(st.out()).contains("files:", "unique_chunks:", "dedup_ratio:");
        JsonNode img = new ObjectMapper().readTree(json.toFile()).get("images").get(0);
        assertThat(img.get("files").asLong()).isEqualTo(files);

        CliRun stats = CliRun.ok("inspect", "-R", "stats", boot.toString());
        assertThat(new ObjectMapper().readTree(stats.out()).get("files").asLong()).isEqualTo(files);
        CliRun blobList = CliRun.ok("inspect", "-R", "blobs", boot.toString());
        assertThat(blobList.out()).contains("\"blob_id\"");

        CliRun prompt = CliRun.runWithStdin("stats\nbogus\nq\n", "inspect", boot.toString());
        assertThat(prompt.exitCode()).isZero();
        assertThat(prompt.out()).contains("Inspecting Rafs :> ", "\"files\"", "error: unknown inspect command 'bogus'");
    }

    @Test
    void mergingLayersWithDifferentChunkSizesIsAnInconsistentFilesystem() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path a = tmp.resolve("a.boot");
        Path b = tmp.resolve("b.boot");
        CliRun.ok("create", "--log-level", "warn", "--chunk-size", "0x10000", "-B", a.toString(), "-D", blobs.toString(), src.toString());
        CliRun.ok("create", "--log-level", "warn", "--chunk-size", "0x20000", "-B", b.toString(), "-D", blobs.toString(), src.toString());
        CliRun r = CliRun.run("merge", "--log-level", "warn", "-B", tmp.resolve("m.boot").toString(), a.toString(), b.toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: inconsistent filesystem");
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(tmp.resolve("m.boot")).doesNotExist();
    }

    @Test
    void tarStreamFromAFifo() throws Exception {
        assumeTrue(tar != null && ExternalCommand.available("mkfifo"), "GNU tar / mkfifo not available");
        Path fifo = tmp.resolve("layer.fifo");
        ExternalCommand.run("mkfifo", fifo.toString());
        Thread writer = new Thread(() -> {
            try (var out = Files.newOutputStream(fifo)) {
                Files.copy(tar, out);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "fifo-writer");
        writer.start();
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("fifo.boot");
        try {
            CliRun.ok("create", "--log-level", "warn", "-t", "tar-rafs", "--chunk-size", "0x" + Integer.toHexString(CHUNK),
                    "-B", boot.toString(), "-D", blobs.toString(), fifo.toString());
        } finally {
            writer.join(60_000);
        }
        try (LocalChunkReader reader = LocalChunkReader.forDirectory(blobs);
             RafsImage image = RafsImage.open(boot, reader)) {
            assertThat(expected.without("/").diff(TreeSnapshot.of(image).without("/"), TreeSnapshot.Field.DIR_NLINK)).isEmpty();
        }
    }

    @Test
    void checkWithBlobsFindsACorruptedChunk() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("c.boot");
        Path json = tmp.resolve("c.json");
        CliRun.ok("create", "--log-level", "warn", "--compressor", "none", "-B", boot.toString(), "-D", blobs.toString(),
                "-J", json.toString(), src.toString());
        Path blob = blobs.resolve(new ObjectMapper().readTree(json.toFile()).get("blobs").get(0).asText());
        CliRun good = CliRun.ok("check", "--log-level", "warn", "-D", blobs.toString(), boot.toString());
        assertThat(good.out()).containsPattern("verified [1-9][0-9]* chunks");
        byte[] bytes = Files.readAllBytes(blob);
        bytes[100] ^= 0x40; // chunk data starts at offset 0 of a nydus blob
        Files.write(blob, bytes);
        CliRun bad = CliRun.run("check", "--log-level", "warn", "-D", blobs.toString(), boot.toString());
        assertThat(bad.exitCode()).as(bad.toString()).isEqualTo(1);
        assertThat(bad.err()).startsWith("error: ");
        assertThat(bad.err().strip().lines()).hasSize(1);
        // metadata alone is still valid
        assertThat(CliRun.ok("check", "--log-level", "warn", boot.toString()).out())
                .contains("RAFS filesystem metadata is valid");
    }

    @Test
    void mergeRecordsPerSourceBlobDigestsAndSizes() throws Exception {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path a = tmp.resolve("a.boot");
        CliRun.ok("create", "--log-level", "warn", "-B", a.toString(), "-D", blobs.toString(), src.toString());
        String digest = "ab".repeat(32);
        Path outDir = Files.createDirectories(tmp.resolve("merged"));
        Path json = tmp.resolve("m.json");
        CliRun.ok("merge", "--log-level", "warn", "-D", outDir.toString(), "-J", json.toString(),
                "--blob-digests", "sha256:" + digest, "--blob-sizes", "10000000", a.toString());
        JsonNode result = new ObjectMapper().readTree(json.toFile());
        assertThat(result.get("blobs").get(0).asText()).isEqualTo(digest);
        Path merged = Path.of(result.get("bootstrap").asText());
        assertThat(merged.getParent()).isEqualTo(outDir);
        assertThat(merged.getFileName().toString()).isEqualTo(MergeCommand.sha256Hex(Files.readAllBytes(merged)));
        JsonNode blob = new ObjectMapper().readTree(CliRun.ok("inspect", "-R", "blobs", merged.toString()).out())
                .get(0);
        assertThat(blob.get("blob_id").asText()).isEqualTo(digest);
        assertThat(blob.get("compressed_size").asLong()).isEqualTo(10_000_000);
    }
}
