package dev.nydus4j.fuse;

import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.ImageBuilder;
import dev.nydus4j.rafs.builder.SourceType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A small RAFS image for the FUSE tests: a source directory built with the default options into
 * {@code tmp/image.boot}, its blobs in {@code tmp/blobs} (served by a localfs backend over that directory).
 */
record TestImage(Path bootstrap, Path blobs) {

    /** Builds {@code src} into {@code tmp/image.boot} with its blobs in {@code tmp/blobs}. */
    static TestImage build(Path tmp, Path src) throws IOException {
        Path blobs = Files.createDirectories(tmp.resolve("blobs"));
        Path boot = new ImageBuilder(BuildOptions.defaults().withSourceType(SourceType.DIR))
                .build(src, tmp.resolve("image.boot"), null, blobs).bootstrap();
        return new TestImage(boot, blobs);
    }

    /** An image of one file at {@code relative} (parents made) under {@code tmp/src}. */
    static TestImage oneFile(Path tmp, String relative, String content) throws IOException {
        Path src = tmp.resolve("src");
        Path file = src.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return build(tmp, src);
    }

    /** Writes {@code size} bytes from {@code new Random(seed)} to {@code file} (parents made) and returns them. */
    static byte[] randomFile(Path file, int size, long seed) throws IOException {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        Files.createDirectories(file.getParent());
        Files.write(file, data);
        return data;
    }
}
