package dev.nydus4j.cli.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Help, version and argument errors of {@code nydus-image}: everything that must hold before any image exists. */
class NydusImageCommandTest {

    @TempDir
    Path tmp;

    @Test
    void createHelpAdvertisesTheFeaturesConvertersProbeFor() {
        CliRun r = CliRun.run("create", "-h");
        assertThat(r.exitCode()).isZero();
        // nydus-snapshotter enables tar2rafs, batch and encryption support by these substrings (API spec 4.1)
        assertThat(r.out()).contains("--type", "tar-rafs", "--batch-size", "--encrypt", "--source-type",
                "--blob-inline-meta", "--inline-bootstrap", "--prefetch-policy", "--chunk-dict", "--output-json");
    }

    @Test
    void topLevelHelpListsEverySubcommand() {
        CliRun r = CliRun.run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("create", "merge", "check", "inspect", "stat", "unpack", "export",
                "--log-level", "--log-file");
    }

    @Test
    void versionHasTheShapeToolsParse() {
        CliRun r = CliRun.run("--version");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).startsWith("nydus-image \r");
        Matcher m = Pattern.compile("Version:\\s*(v.*)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).matches("v\\d+\\.\\d+\\.\\d+.*");
        assertThat(r.out()).contains("Git Commit: \t", "Build Time: \t", "Profile: \t");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--encrypt|encryption (-E/--encrypt) is not supported",
            "--fs-version 7|invalid --fs-version 7",
            "--batch-size 0x1000|--batch-size 4096 is not supported yet",
            "--batch-size 0x1001|invalid --batch-size 0x1001",
            "--chunk-size 0x1001|invalid --chunk-size 0x1001: must be a power of two",
            "--chunk-size 0x800|invalid --chunk-size 0x800",
            "--chunk-size 0x2000000|invalid --chunk-size 0x2000000",
            "--chunk-size banana|invalid number 'banana'",
            "--type targz-ref|unsupported: conversion type targz-ref",
            "--type tar-tarfs|unsupported: conversion type tar-tarfs",
            "--type estargz-rafs|unsupported: conversion type estargz-rafs",
            "--type nonsense|invalid --type 'nonsense'",
            "--compressor brotli|unknown compressor 'brotli'",
            "--digester md5|unknown digester 'md5'",
            "--whiteout-spec aufs|invalid --whiteout-spec 'aufs'",
            "--features blob-toc,zran|unsupported feature 'zran'",
            "--chunk-dict /x/y|invalid --chunk-dict '/x/y'",
            "--prefetch-policy sometimes|--prefetch-policy",
            "--no-such-flag|Unknown option: '--no-such-flag'",
            "--log-level loud|invalid log level 'loud'",
    })
    void badCreateFlagsGiveOneLineErrorsAndExitOne(String flags, String expected) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        String[] args = CliRun.concat(new String[]{"create", "-B", tmp.resolve("b.boot").toString(), "-D", blobs.toString()},
                flags.split(" "));
        CliRun r = CliRun.run(CliRun.concat(args, src.toString()));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.err()).as(r.toString()).startsWith("error: ").contains(expected);
        assertThat(r.err().strip().lines()).as("one line: " + r).hasSize(1);
        assertThat(r.err()).doesNotContain("\tat ", "Exception");
        assertThat(tmp.resolve("b.boot")).doesNotExist();
    }

    @Test
    void createWithoutAnyBlobOutputUsesUpstreamsMessage() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        CliRun r = CliRun.run("create", "-B", tmp.resolve("b.boot").toString(), src.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("both --blob and --blob-dir or --blob-cache-dir are missing");
    }

    @Test
    void inlineMetaConflictsWithBootstrap() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        CliRun r = CliRun.run("create", "--blob-inline-meta", "-B", tmp.resolve("b.boot").toString(), "-b",
                tmp.resolve("blob").toString(), src.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("--blob-inline-meta conflicts with --bootstrap");
    }

    @Test
    void checkOfABlobWithInlinedMetadataVerifiesItUnderItsRealId() throws Exception {
        // the converter's per-layer form: the bootstrap inside the blob names it "x" * 64 and records only the chunk
        // data size, so check must complete that entry from the file itself (its sha256, size and ToC)
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = new byte[1_500_000];
        new java.util.Random(3).nextBytes(data);
        Files.write(src.resolve("random.bin"), data);
        Files.writeString(src.resolve("small.txt"), "small\n");
        Path blob = tmp.resolve("layer.blob");
        CliRun.ok("create", "--blob-inline-meta", "--features", "blob-toc", "-b", blob.toString(), src.toString());
        String sha = java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(blob)));

        Path json = tmp.resolve("check.json");
        CliRun r = CliRun.ok("check", blob.toString(), "-J", json.toString());
        assertThat(r.out()).contains("0: " + sha + ",").contains("compressed file size 0x"
                + Long.toHexString(Files.size(blob)) + ",").contains("verified 3 chunks (1500006 bytes) in 1 blobs");
        assertThat(Files.readString(json)).contains("\"" + sha + "\"").contains("\"chunks_verified\" : 3");

        // the same blob found by its id in a blob directory
        Path dir = Files.createDirectories(tmp.resolve("blobs"));
        Files.copy(blob, dir.resolve(sha));
        assertThat(CliRun.ok("check", blob.toString(), "-D", dir.toString()).out()).contains("verified 3 chunks");

        // a flipped data byte is still caught
        byte[] bad = Files.readAllBytes(blob);
        bad[1000] ^= 0x20;
        Path corrupt = tmp.resolve("corrupt.blob");
        Files.write(corrupt, bad);
        CliRun c = CliRun.run("check", corrupt.toString());
        assertThat(c.exitCode()).isEqualTo(1);
        assertThat(c.err()).contains("digest");
    }

    @Test
    void mergeOfExtractedLayerBootstrapsWithoutBlobSizesChecksClean() throws Exception {
        // nydus-snapshotter's converter extracts image.boot from each layer blob and merges with --blob-digests
        // (older ones without --blob-sizes): the table then keeps the size the inlined bootstrap recorded, which is
        // smaller than the blob file (the bootstrap and ToC follow it)
        Path src = Files.createDirectories(tmp.resolve("src"));
        byte[] data = new byte[700_000];
        new java.util.Random(9).nextBytes(data);
        Files.write(src.resolve("data.bin"), data);
        Path blob = tmp.resolve("layer.blob");
        CliRun.ok("create", "--blob-inline-meta", "--features", "blob-toc", "-b", blob.toString(), src.toString());
        String sha = java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(blob)));
        Path layerBoot = tmp.resolve("layer.boot");
        Files.write(layerBoot, BootstrapSource.bootstrapBytes(blob));
        Path merged = tmp.resolve("merged.boot");
        CliRun.ok("merge", "--bootstrap", merged.toString(), "--blob-digests", "sha256:" + sha, layerBoot.toString());
        Path dir = Files.createDirectories(tmp.resolve("blobs"));
        Files.copy(blob, dir.resolve(sha));
        assertThat(CliRun.ok("check", merged.toString(), "-D", dir.toString()).out())
                .contains("verified 1 chunks (700000 bytes) in 1 blobs");
        // a blob file shorter than the recorded size is still refused
        byte[] all = Files.readAllBytes(blob);
        Files.write(dir.resolve(sha), java.util.Arrays.copyOf(all, 600_000));
        CliRun cut = CliRun.run("check", merged.toString(), "-D", dir.toString());
        assertThat(cut.exitCode()).isEqualTo(1);
        assertThat(cut.err()).contains(sha);
    }

    @Test
    void mergeNamesEachLayerBlobAfterItsBootstrapFileAsTheSnapshotterConverterDoes() throws Exception {
        // nydus-snapshotter's converter.Merge: <work>/<layer digest hex> holds image.boot extracted from the layer
        // blob, merged without --blob-digests; upstream takes the blob id from that file name
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        List<String> sources = new ArrayList<>();
        List<String> shas = new ArrayList<>();
        for (String layer : List.of("lower", "upper")) {
            Path src = Files.createDirectories(tmp.resolve("src-" + layer));
            Files.writeString(src.resolve(layer + ".txt"), "content of " + layer + "\n");
            Path blob = tmp.resolve(layer + ".blob");
            CliRun.ok("create", "--blob-inline-meta", "--features", "blob-toc", "-b", blob.toString(), src.toString());
            String sha = java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(blob)));
            Files.copy(blob, blobs.resolve(sha));
            Path named = Files.createDirectories(tmp.resolve("work")).resolve(sha);
            Files.write(named, BootstrapSource.bootstrapBytes(blob));
            sources.add(named.toString());
            shas.add(sha);
        }
        Path json = tmp.resolve("merge.json");
        Path merged = tmp.resolve("merged.boot");
        List<String> args = new ArrayList<>(List.of("merge", "--bootstrap", merged.toString(), "-J", json.toString()));
        args.addAll(sources);
        CliRun.ok(args.toArray(String[]::new));
        assertThat(Files.readString(json)).contains("\"blobs\" : [ \"" + shas.get(0) + "\", \"" + shas.get(1) + "\" ]");
        assertThat(CliRun.ok("check", merged.toString(), "-D", blobs.toString()).out()).contains("in 2 blobs");

        // a name that is no digest still needs --blob-digests, and the error says how to fix it
        Path odd = tmp.resolve("layer.boot");
        Files.copy(Path.of(sources.get(0)), odd);
        CliRun r = CliRun.run("merge", "--bootstrap", tmp.resolve("x.boot").toString(), odd.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("--blob-digests").contains("name the bootstrap file after it");
        assertThat(MergeCommand.idFromFileName(Path.of("/w/" + shas.get(0) + ".blob.meta"))).isEqualTo(shas.get(0));
    }

    @Test
    void missingBlobDirIsReported() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        CliRun r = CliRun.run("create", "-B", tmp.resolve("b.boot").toString(), "-D", tmp.resolve("nope").toString(),
                src.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("--blob-dir " + tmp.resolve("nope") + " does not exist");
    }

    @Test
    void missingSourceIsOneLine() {
        CliRun r = CliRun.run("create", "-B", tmp.resolve("b.boot").toString(), "-D", tmp.toString(),
                tmp.resolve("absent").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("absent");
    }

    @Test
    void unpackReadsBlobsThroughABackendAndExplainsBadBackendConfigs() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("hello.txt"), "hello backend\n");
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("x.boot");
        assertThat(CliRun.run("create", "--log-level", "warn", "-B", boot.toString(), "-D", blobs.toString(),
                src.toString()).exitCode()).isZero();
        Path tar = tmp.resolve("o.tar");
        CliRun ok = CliRun.run("unpack", "--log-level", "warn", "--backend-type", "localfs", "--backend-config",
                "{\"dir\":\"" + blobs + "\"}", "--output", tar.toString(), boot.toString());
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(new String(Files.readAllBytes(tar), java.nio.charset.StandardCharsets.ISO_8859_1))
                .contains("hello backend");
        CliRun noHost = CliRun.run("unpack", "--backend-type", "registry", "--backend-config", "{}", "--output",
                tmp.resolve("o2.tar").toString(), boot.toString());
        assertThat(noHost.exitCode()).isEqualTo(1);
        assertThat(noHost.err()).contains("'host' and 'repo'");
        CliRun unknown = CliRun.run("unpack", "--backend-type", "ftp", "--backend-config", "{}", "--output",
                tmp.resolve("o3.tar").toString(), boot.toString());
        assertThat(unknown.err())
                .contains("No blob backend provider for type 'ftp'; available: [dragonfly, localfs, oss, registry, s3]");
        CliRun badOss = CliRun.run("unpack", "--backend-type", "oss", "--backend-config", "{}", "--output",
                tmp.resolve("o5.tar").toString(), boot.toString());
        assertThat(badOss.err()).contains("'endpoint' is required");
        CliRun both = CliRun.run("unpack", "--backend-type", "localfs", "-D", blobs.toString(), "--output",
                tmp.resolve("o4.tar").toString(), boot.toString());
        assertThat(both.err()).contains("conflicts");
    }

    @Test
    void checkOfAFileThatIsNoImageFailsCleanly() throws IOException {
        Path junk = Files.writeString(tmp.resolve("junk"), "definitely not a bootstrap\n".repeat(200));
        CliRun r = CliRun.run("check", junk.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).startsWith("error: ").contains("junk");
    }

    @Test
    void mergeNeedsAnOutput() throws IOException {
        Path a = Files.writeString(tmp.resolve("a.boot"), "x");
        CliRun r = CliRun.run("merge", a.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("missing output: give --bootstrap or --blob-dir");
    }

    @Test
    void mergePerSourceListsMustMatchTheSourceCount() throws IOException {
        Path a = Files.writeString(tmp.resolve("a.boot"), "x");
        CliRun r = CliRun.run("merge", "-B", tmp.resolve("m.boot").toString(), "--blob-sizes", "1,2", a.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("--blob-sizes has 2 entries but there are 1 sources");
    }

    @Test
    void exportNeedsBlock() {
        CliRun r = CliRun.run("export", "-B", "x.boot", "-D", tmp.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("only --block export is supported");
    }

    @Test
    void checkWithANydusdConfigVerifiesEveryChunkThroughItsBackend() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("a.txt"), "through the backend\n".repeat(5000));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("c.boot");
        assertThat(CliRun.run("create", "--log-level", "warn", "-B", boot.toString(), "-D", blobs.toString(),
                src.toString()).exitCode()).isZero();
        Path cfg = Files.writeString(tmp.resolve("nydusd.json"), "{\"device\":{\"backend\":{\"type\":\"localfs\","
                + "\"config\":{\"dir\":\"" + blobs + "\"}}},\"mode\":\"direct\"}");
        CliRun ok = CliRun.run("check", "--log-level", "warn", "-C", cfg.toString(), boot.toString());
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("RAFS filesystem metadata is valid").contains("verified 1 chunks");
        // a flipped byte in the blob is found through the backend too
        Path blob;
        try (var s = Files.list(blobs)) {
            blob = s.findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(blob);
        b[3] ^= 0x10;
        Files.write(blob, b);
        CliRun bad = CliRun.run("check", "--log-level", "warn", "-C", cfg.toString(), boot.toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("chunk");
    }
}
