package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.storage.DigestAlgorithm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thousands of distinct small files: deduplication must never map two different contents to one chunk. Enough
 * digests are computed for the digesters' hot paths to be JIT-compiled, so digest bugs that appear only after
 * warm-up show here as wrong dedup (they corrupt images silently otherwise).
 */
class DedupIntegrityTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(DigestAlgorithm.class)
    void distinctContentsNeverShareAChunk(DigestAlgorithm digester) throws Exception {
        long seed = System.nanoTime();
        System.out.println("distinctContentsNeverShareAChunk " + digester + " seed=" + seed);
        Random rnd = new Random(seed);
        int files = 60_000;
        Map<String, byte[]> content = new HashMap<>();
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(tar)) {
            for (int i = 0; i < files; i++) {
                // at least 16 random bytes: shorter contents repeat by chance and then rightly share a chunk
                byte[] data = new byte[16 + rnd.nextInt(3000)];
                rnd.nextBytes(data);
                String name = "d" + (i % 50) + "/f" + i;
                content.put(name, data);
                TarSourceTest.file(out, name, data);
            }
        }
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withDigester(digester))
                .build(new ByteArrayInputStream(tar.toByteArray()), null, tmp.resolve("blob"), null);
        Map<Integer, String> ownerOfChunk = new HashMap<>();
        Map<ByteBuffer, String> ownerOfDigest = new HashMap<>();
        for (Node d : r.tree().root.children()) {
            for (Node f : d.children()) {
                String name = d.nameString() + "/" + f.nameString();
                ChunkRef c = f.inode().chunks.get(0);
                byte[] expected = digester.digest(content.get(name), 0, content.get(name).length);
                assertThat(c.digest()).as("digest of %s (seed %d)", name, seed).isEqualTo(expected);
                assertThat(c.info().uncompressedSize()).as(name).isEqualTo(content.get(name).length);
                String prev = ownerOfChunk.putIfAbsent(c.info().index(), name);
                assertThat(prev).as("chunk %d of %s already belongs to another file", c.info().index(), name)
                        .isNull();
                ownerOfDigest.putIfAbsent(ByteBuffer.wrap(c.digest()), name);
            }
        }
        assertThat(ownerOfDigest).hasSize(files);
        assertThat(r.tree().blobs.get(0).chunkCount()).isEqualTo(files);
        assertThat(Files.size(tmp.resolve("blob"))).isPositive();
    }
}
