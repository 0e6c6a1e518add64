package dev.nydus4j.fuse;

import dev.nydus4j.api.config.NydusdConfig;
import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.BuildResult;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.config.NydusdConfigParser;
import dev.nydus4j.testkit.TreeGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A RAFS v5 image written by our builder ({@code --fs-version 5}) served by our FUSE daemon (root + /dev/fuse +
 * libfuse2; skipped otherwise): {@code diff -r} and {@code find -printf} of the mount equal the source.
 */
class RafsV5MountIT {
    @TempDir
    Path tmp;
    private NydusDaemon daemon;

    @BeforeEach
    void requireFuse() {
        FuseMountIT.assumeFuseMountable();
    }

    @AfterEach
    void cleanup() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void v5ImageMountsAndEqualsTheSource() throws Exception {
        Path src = tmp.resolve("src");
        TreeGenerator.Generated g = TreeGenerator.generate(src,
                TreeGenerator.options().chunkSize(64 * 1024).scale(0.3).bigDirectory(2000));
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        BuildResult r = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR)
                .withChunkSize(64 * 1024), 5).build(src, tmp.resolve("image.boot"), null, blobs);
        assertThat(Bootstraps.version(r.bootstrap())).isEqualTo(5);
        String cfg = "{\"device\":{\"backend\":{\"type\":\"localfs\",\"config\":{\"dir\":\"" + blobs + "\"}},"
                + "\"cache\":{\"type\":\"blobcache\",\"config\":{\"work_dir\":\"" + tmp.resolve("cache") + "\"}}},"
                + "\"mode\":\"direct\",\"digest_validate\":true,\"enable_xattr\":true}";
        NydusdConfig config = NydusdConfigParser.parse(cfg, "test");
        Path mp = Files.createDirectories(tmp.resolve("mnt"));
        daemon = NydusDaemon.start(new NydusDaemon.StartupImage(config, r.bootstrap(), "/", null), mp,
                BackendRegistry.discover(), null, null, FuseEngine.byDefault(), NydusDaemon.DEFAULT_THREADS);
        String seed = "seed " + g.seed();
        // diff reports device/fifo/socket pairs as "not comparable" even when they match: find compares them
        assertThat(run("diff", "-r", "--no-dereference", src.toString(), mp.toString()).lines()
                .filter(l -> !l.matches("File .* is a (character special file|block special file|fifo|socket) while"
                        + " file .* is a (character special file|block special file|fifo|socket)"))
                .toList()).as(seed).isEmpty();
        String find = " && find . -printf '%p %y %m %U %G %s %T@ %l\\n' | grep -v '^\\. ' | sed -E"
                + " 's/^(\\S+ d \\S+ \\S+ \\S+) [0-9]+/\\1 S/' | sort";
        assertThat(run("sh", "-c", "cd " + mp + find)).as(seed).isEqualTo(run("sh", "-c", "cd " + src + find));
        // hard links keep one inode number and their link count
        String links = " && find . -type f -links +1 -printf '%n %p\\n' | sort";
        assertThat(run("sh", "-c", "cd " + mp + links)).as(seed).isEqualTo(run("sh", "-c", "cd " + src + links));
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        if (p.exitValue() != 0 && !cmd[0].equals("diff")) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }
}
