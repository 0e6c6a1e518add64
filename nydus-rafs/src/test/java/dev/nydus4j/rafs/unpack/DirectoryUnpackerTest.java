package dev.nydus4j.rafs.unpack;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.fixtures.DirectoryChunkReader;
import dev.nydus4j.rafs.fixtures.SyntheticImage;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.testkit.Fixtures;
import dev.nydus4j.testkit.TreeSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.RafsFileSystem;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DirectoryUnpackerTest {
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @Test
    void unpacksSyntheticImageIdentically(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 11, ROOT);
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            Path out = tmp.resolve("out");
            DirectoryUnpacker.Result r = DirectoryUnpacker.unpack(fs, out);
            assertThat(r.skipped()).isEmpty();
            var ignore = ROOT ? new TreeSnapshot.Field[0]
                    : new TreeSnapshot.Field[]{TreeSnapshot.Field.UID, TreeSnapshot.Field.GID};
            assertThat(TreeSnapshot.of(fs).diff(TreeSnapshot.of(out), ignore)).isEmpty();
        }
    }

    @Test
    void unpacksV5Fixture(@TempDir Path tmp) throws Exception {
        Path boot = Fixtures.upstream("repeatable/sha256-nocompress-repeatable");
        try (RafsImage fs = RafsImage.open(boot, DirectoryChunkReader.forDirectory(Fixtures.upstream("repeatable/blobs")))) {
            Path out = tmp.resolve("out");
            DirectoryUnpacker.unpack(fs, out);
            var ignore = ROOT ? new TreeSnapshot.Field[0]
                    : new TreeSnapshot.Field[]{TreeSnapshot.Field.UID, TreeSnapshot.Field.GID};
            assertThat(TreeSnapshot.of(fs).diff(TreeSnapshot.of(out), ignore)).isEmpty();
        }
    }

    @Test
    void refusesNonEmptyTarget(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 1, false);
        Files.writeString(tmp.resolve("occupied"), "x");
        try (RafsImage fs = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile))) {
            assertThatThrownBy(() -> DirectoryUnpacker.unpack(fs, tmp)).isInstanceOf(FileAlreadyExistsException.class);
        }
    }

    @Test
    void neverWritesOutsideTargetForHostileNames(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 3, false);
        for (String hostile : new String[]{"a/../../escape", "/abs", "nul\0x", ""}) {
            Path target = tmp.resolve("t" + Math.abs(hostile.hashCode()));
            try (RafsImage real = RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile));
                 RafsFileSystem fs = withExtraRootEntry(real, hostile)) {
                assertThatThrownBy(() -> DirectoryUnpacker.unpack(fs, target)).isInstanceOf(CorruptImageException.class)
                        .hasMessageContaining("refusing");
            }
            try (var s = Files.list(tmp)) {
                assertThat(s.map(p -> p.getFileName().toString()).collect(Collectors.toList()))
                        .doesNotContain("escape", "abs");
            }
            assertThat(Files.exists(Path.of("/abs"))).isFalse();
        }
    }

    @Test
    void imageRejectsTreesWithDotDotNames(@TempDir Path tmp) throws Exception {
        SyntheticImage img = SyntheticImage.create(tmp, 3, false);
        img.tree.root.putChild(new Node("..", new Inode(0100644)));
        assertThatThrownBy(() -> RafsImage.open(img.tree, DirectoryChunkReader.forFile(img.blobFile)))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("invalid entry name");
    }

    /** A file system that lists one extra (hostile) name in the root, pointing at an existing regular file. */
    private static RafsFileSystem withExtraRootEntry(RafsImage real, String name) throws IOException {
        long fileIno = real.resolve("/small.txt").orElseThrow().ino();
        return (RafsFileSystem) Proxy.newProxyInstance(RafsFileSystem.class.getClassLoader(),
                new Class<?>[]{RafsFileSystem.class}, (proxy, m, args) -> {
                    try {
                        Object r = m.invoke(real, args);
                        if (m.getName().equals("readdir") && (long) args[0] == real.rootInode()) {
                            List<DirEntry> l = new ArrayList<>((List<DirEntry>) r);
                            l.add(new DirEntry(name, name.getBytes(StandardCharsets.UTF_8), fileIno, FileType.REGULAR));
                            return l;
                        }
                        return r;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
