package dev.nydus4j.cli.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.testkit.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code nydus-image inspect -B <bootstrap> -R stats|prefetch|blobs} answers in upstream's request-mode shapes, which
 * upstream's own inspect test (tests/inspect.rs) parses: stats an object with {@code inodes_count} (the super
 * block's count), blobs an array of {@code {blob_id, compressed_size, decompressed_size, readahead_offset,
 * readahead_size}}, prefetch an array of {@code {inode, path}}. They were objects wrapping our own keys.
 */
class InspectRequestUpstreamShapeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void statsCountsInodesAsTheUpstreamSuperBlocksDo() throws Exception {
        // the super blocks record 51 (v5: distinct inodes without the root) and 3 (v6: every inode)
        Path v5 = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        Path v6 = Fixtures.upstream("bootstrap/rafs-v6-2.2.boot");
        assertThat(JSON.readTree(CliRun.ok("inspect", "-B", v5.toString(), "-R", "stats").out())
                .get("inodes_count").asLong()).isEqualTo(51);
        assertThat(JSON.readTree(CliRun.ok("inspect", "-B", v6.toString(), "-R", "stats").out())
                .get("inodes_count").asLong()).isEqualTo(3);

        JsonNode blobs = JSON.readTree(CliRun.ok("inspect", "-B", v6.toString(), "-R", "blobs").out());
        assertThat(blobs.isArray()).isTrue();
        assertThat(blobs).hasSize(1);
        JsonNode b = blobs.get(0);
        assertThat(b.get("blob_id").asText()).isEqualTo("be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef");
        assertThat(b.get("compressed_size").asLong()).isEqualTo(14554); // the whole blob file (CAP_TAR_TOC)
        assertThat(b.get("decompressed_size").asLong()).isEqualTo(0x9000);
        assertThat(b.get("readahead_offset").asLong()).isZero();
        assertThat(b.get("readahead_size").asLong()).isZero();
    }

    @Test
    void prefetchListsInodeAndEveryPathOfIt(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/d"));
        Files.writeString(src.resolve("f"), "data");
        Files.createLink(src.resolve("g"), src.resolve("f"));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = tmp.resolve("b.boot");
        CliRun.runWithStdin("/d/f\n/d\n", "create", "--log-level", "warn", "--prefetch-policy", "fs", "-B",
                boot.toString(), "-D", blobs.toString(), tmp.resolve("src").toString());
        JsonNode p = JSON.readTree(CliRun.ok("inspect", "-B", boot.toString(), "-R", "prefetch").out());
        assertThat(p.isArray()).isTrue();
        assertThat(p).hasSize(2);
        assertThat(p.get(0).get("path")).extracting(JsonNode::asText).containsExactly("/d/f", "/d/g");
        assertThat(p.get(1).get("path")).extracting(JsonNode::asText).containsExactly("/d");
        assertThat(p.get(0).get("inode").asLong()).isNotEqualTo(p.get(1).get("inode").asLong()).isPositive();
    }
}
