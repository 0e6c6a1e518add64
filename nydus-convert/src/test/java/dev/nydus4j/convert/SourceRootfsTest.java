package dev.nydus4j.convert;

import dev.nydus4j.api.FileType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.SortedMap;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The checker's reference model of a source rootfs: OCI whiteouts, opaque dirs, hard links, hostile names. */
class SourceRootfsTest {

    @Test
    void whiteoutsOpaqueDirectoriesAndReplacementsFollowTheOciRules() throws IOException {
        SourceRootfs fs = new SourceRootfs();
        fs.apply(tar(false, "./", "", "a/", "", "a/x", "x", "a/y", "y", "b/", "", "b/old", "o", "c", "file"), 0, "l0");
        fs.apply(tar(true, "a/.wh.x", "", "b/.wh..wh..opq", "", "b/new", "n", "c/", "", "c/inner", "i"), 1, "l1");
        SortedMap<String, FsEntry> e = fs.entries();
        assertThat(e).containsOnlyKeys("/", "/a", "/a/y", "/b", "/b/new", "/c", "/c/inner");
        assertThat(e.get("/c").type()).as("a directory replaces a file").isEqualTo(FileType.DIRECTORY);
        assertThat(e.get("/b/new").sha256()).isEqualTo(sha("n"));
    }

    @Test
    void opaqueMarkerKeepsEntriesOfItsOwnLayer() throws IOException {
        SourceRootfs fs = new SourceRootfs();
        fs.apply(tar(false, "d/", "", "d/lower", "l"), 0, "l0");
        fs.apply(tar(false, "d/", "", "d/same-layer", "s", "d/.wh..wh..opq", ""), 1, "l1");
        assertThat(fs.entries()).containsOnlyKeys("/", "/d", "/d/same-layer");
    }

    @Test
    void hardLinksShareContentAndCountLinks() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            file(t, "f", "data");
            TarArchiveEntry link = new TarArchiveEntry("g", TarArchiveEntry.LF_LINK);
            link.setLinkName("f");
            t.putArchiveEntry(link);
            t.closeArchiveEntry();
        }
        SourceRootfs fs = new SourceRootfs();
        fs.apply(new ByteArrayInputStream(bytes.toByteArray()), 0, "l0");
        assertThat(fs.entries().get("/g").sha256()).isEqualTo(sha("data"));
        assertThat(fs.entries().get("/g").nlink()).isEqualTo(2);
        assertThat(fs.entries().get("/f").nlink()).isEqualTo(2);
    }

    @Test
    void entriesEscapingTheRootAreRejectedWithTheLayerNamed() {
        assertThatThrownBy(() -> new SourceRootfs().apply(tar(false, "../etc/passwd", "x"), 0, "layer 1/1 sha256:ab"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("layer 1/1 sha256:ab").hasMessageContaining("escapes");
        assertThatThrownBy(() -> new SourceRootfs().apply(tar(false, "a/../../b", "x"), 0, "l"))
                .hasMessageContaining("escapes");
    }

    @Test
    void hardLinksToSymlinksAndDevicesAcrossLayersKeepTheirTarget() throws IOException {
        // GNU ln of a symlink links the symlink itself (umoci repack emits it as a tar hard link)
        ByteArrayOutputStream lower = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(lower)) {
            TarArchiveEntry sym = new TarArchiveEntry("zone/UTC", TarArchiveEntry.LF_SYMLINK);
            sym.setLinkName("Etc/UTC");
            t.putArchiveEntry(sym);
            t.closeArchiveEntry();
            TarArchiveEntry dev = new TarArchiveEntry("null", TarArchiveEntry.LF_CHR);
            dev.setDevMajor(1);
            dev.setDevMinor(3);
            t.putArchiveEntry(dev);
            t.closeArchiveEntry();
            TarArchiveEntry dir = new TarArchiveEntry("d/", TarArchiveEntry.LF_DIR);
            t.putArchiveEntry(dir);
            t.closeArchiveEntry();
        }
        ByteArrayOutputStream upper = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(upper)) {
            for (String[] l : new String[][]{{"utc-hard", "zone/UTC"}, {"null2", "null"}}) {
                TarArchiveEntry link = new TarArchiveEntry(l[0], TarArchiveEntry.LF_LINK);
                link.setLinkName(l[1]);
                t.putArchiveEntry(link);
                t.closeArchiveEntry();
            }
        }
        SourceRootfs fs = new SourceRootfs();
        fs.apply(new ByteArrayInputStream(lower.toByteArray()), 0, "l0");
        fs.apply(new ByteArrayInputStream(upper.toByteArray()), 1, "l1");
        assertThat(fs.entries().get("/utc-hard").type()).isEqualTo(FileType.SYMLINK);
        assertThat(fs.entries().get("/utc-hard").target()).isEqualTo("Etc/UTC");
        assertThat(fs.entries().get("/null2").type()).isEqualTo(FileType.CHAR_DEVICE);
        assertThat(fs.entries().get("/null2").rdev()).isEqualTo(fs.entries().get("/null").rdev()).isNotZero();

        // a directory cannot be hard linked
        ByteArrayOutputStream bad = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bad)) {
            TarArchiveEntry link = new TarArchiveEntry("dl", TarArchiveEntry.LF_LINK);
            link.setLinkName("d");
            t.putArchiveEntry(link);
            t.closeArchiveEntry();
        }
        assertThatThrownBy(() -> fs.apply(new ByteArrayInputStream(bad.toByteArray()), 2, "l2"))
                .hasMessageContaining("l2: hard link /dl points to d, which is a directory");
    }

    @Test
    void hardLinkToAMissingFileIsAnError() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry link = new TarArchiveEntry("g", TarArchiveEntry.LF_LINK);
            link.setLinkName("nowhere");
            t.putArchiveEntry(link);
            t.closeArchiveEntry();
        }
        assertThatThrownBy(() -> new SourceRootfs().apply(new ByteArrayInputStream(bytes.toByteArray()), 0, "l"))
                .hasMessageContaining("hard link /g points to nowhere");
    }

    @Test
    void verifyingStreamNamesTheBlobOnMismatch() {
        byte[] data = "layer bytes".getBytes(StandardCharsets.UTF_8);
        String wrong = Manifest.sha256("other".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> {
            try (VerifyingInputStream in = new VerifyingInputStream(new ByteArrayInputStream(data), "layer 2/3", wrong,
                    data.length)) {
                in.drainAndVerify();
            }
        }).hasMessageContaining("layer 2/3 digest mismatch").hasMessageContaining(wrong);
        assertThatThrownBy(() -> {
            try (VerifyingInputStream in = new VerifyingInputStream(new ByteArrayInputStream(data), "layer 1/1",
                    Manifest.sha256(data), data.length + 5L)) {
                in.drainAndVerify();
            }
        }).hasMessageContaining("truncated");
    }

    @Test
    void locationsParse() {
        ImageLocation oci = ImageLocation.parse("oci:/tmp/layout:v1");
        assertThat(oci.kind()).isEqualTo(ImageLocation.Kind.OCI_LAYOUT);
        assertThat(oci.path()).hasToString("/tmp/layout");
        assertThat(oci.tag()).isEqualTo("v1");
        assertThat(ImageLocation.parse("docker-archive:/x/y.tar").tag()).isNull();
        ImageLocation reg = ImageLocation.parse("127.0.0.1:5000/a/b:c");
        assertThat(reg.kind()).isEqualTo(ImageLocation.Kind.REGISTRY);
        assertThat(reg.withTagSuffix("-nydus").text()).isEqualTo("127.0.0.1:5000/a/b:c-nydus");
        assertThatThrownBy(() -> ImageLocation.parse("127.0.0.1:5000/a@sha256:" + "0".repeat(64)).withTagSuffix("-x"))
                .hasMessageContaining("digest");
        assertThat(Platform.parse("linux/arm64/v8").variant()).isEqualTo("v8");
        assertThatThrownBy(() -> Platform.parse("linux")).hasMessageContaining("os/arch");
    }

    @Test
    void bootstrapLayerHasTheExpectedEntriesAndIsReproducible() throws IOException {
        byte[] boot = new byte[8192];
        boot[1024] = 1;
        BootstrapLayer a = BootstrapLayer.of(boot);
        BootstrapLayer b = BootstrapLayer.of(boot.clone());
        assertThat(a.digest()).isEqualTo(b.digest());
        assertThat(BootstrapLayer.extract(a.gzip(), "t")).hasValueSatisfying(v -> assertThat(v).isEqualTo(boot));
        var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                new java.util.zip.GZIPInputStream(new ByteArrayInputStream(a.gzip())));
        TarArchiveEntry dir = tar.getNextEntry();
        assertThat(dir.getName()).isEqualTo("image/");
        assertThat(dir.getMode() & 07777).isEqualTo(0755);
        TarArchiveEntry file = tar.getNextEntry();
        assertThat(file.getName()).isEqualTo("image/image.boot");
        assertThat(file.getMode() & 07777).isEqualTo(0444);
    }

    private static ByteArrayInputStream tar(boolean gzip, String... nameContent) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (var out = gzip ? new GZIPOutputStream(bytes) : bytes;
             TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
            for (int i = 0; i < nameContent.length; i += 2) {
                if (nameContent[i].endsWith("/")) {
                    TarArchiveEntry d = new TarArchiveEntry(nameContent[i]);
                    t.putArchiveEntry(d);
                    t.closeArchiveEntry();
                } else {
                    file(t, nameContent[i], nameContent[i + 1]);
                }
            }
        }
        return new ByteArrayInputStream(bytes.toByteArray());
    }

    private static void file(TarArchiveOutputStream t, String name, String content) throws IOException {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(b.length);
        t.putArchiveEntry(e);
        t.write(b);
        t.closeArchiveEntry();
    }

    private static String sha(String s) {
        return Manifest.sha256(s.getBytes(StandardCharsets.UTF_8)).substring(7);
    }
}
