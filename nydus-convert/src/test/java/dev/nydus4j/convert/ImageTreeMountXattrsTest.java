package dev.nydus4j.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code nydusify check --nydusd/--mount} reads the mounted image with {@link ImageTree#of(Path)}: xattrs of every
 * namespace are read (llistxattr/lgetxattr, symlinks not followed) and compared with the source's, as upstream's
 * checker does; before, the mount path compared no xattrs at all.
 */
class ImageTreeMountXattrsTest {
    @Test
    void mountedTreeCarriesXattrsAndADifferingValueIsReported(@TempDir Path tmp) throws Exception {
        assumeTrue(ImageTree.mountXattrsCompared(), "libc xattr calls unavailable");
        Path dir = Files.createDirectories(tmp.resolve("tree"));
        Path f = Files.writeString(dir.resolve("f"), "data");
        UserDefinedFileAttributeView v = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        assumeTrue(v != null && Files.getFileStore(f).supportsFileAttributeView(UserDefinedFileAttributeView.class),
                "no user xattrs on " + Files.getFileStore(f));
        v.write("color", ByteBuffer.wrap("blue".getBytes(StandardCharsets.UTF_8)));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("f"));

        SortedMap<String, FsEntry> image = ImageTree.of(dir);
        assertThat(image.get("/f").xattrs()).containsExactly(Map.entry("user.color", "blue"));
        assertThat(image.get("/link").xattrs()).as("the link's own xattrs, not its target's").isEmpty();

        SortedMap<String, FsEntry> source = new TreeMap<>(image);
        FsEntry e = image.get("/f");
        source.put("/f", new FsEntry(e.path(), e.type(), e.mode(), e.uid(), e.gid(), e.mtimeSec(), e.size(),
                e.target(), e.rdev(), Map.of("user.color", "red"), e.sha256(), e.nlink(), false));
        assertThat(TreeDiff.diff(source, image)).singleElement().asString().contains("/f").contains("xattrs differ");
        assertThat(TreeDiff.diff(image, ImageTree.of(dir))).isEmpty();
    }
}
