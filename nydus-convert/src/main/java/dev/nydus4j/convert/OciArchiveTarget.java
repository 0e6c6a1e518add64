package dev.nydus4j.convert;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * {@code --target-archive}: the result is assembled as an OCI layout in a scratch directory next to the archive and
 * packed into the tar (written to a temp name, then renamed) when the tagged manifest is stored, which the
 * converter does last; a failed conversion therefore leaves no archive. The scratch directory goes on close.
 */
final class OciArchiveTarget implements ImageStore {
    private final Path archive;
    private final Path scratch;
    private final OciLayoutStore layout;

    private OciArchiveTarget(Path archive, Path scratch, OciLayoutStore layout) {
        this.archive = archive;
        this.scratch = scratch;
        this.layout = layout;
    }

    static OciArchiveTarget create(Path archive, String tag) throws IOException {
        Path parent = archive.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new NoSuchFileException(String.valueOf(parent), null, "the directory of --target-archive "
                    + archive + " does not exist");
        }
        Path scratch = Files.createTempDirectory(parent, ".nydusify-archive-");
        return new OciArchiveTarget(archive, scratch, OciLayoutStore.open(scratch, tag, true));
    }

    @Override
    public String describe() {
        return "oci-archive:" + archive;
    }

    @Override
    public String defaultReference() {
        return layout.defaultReference();
    }

    @Override
    public Manifest manifest(String reference) throws IOException {
        return layout.manifest(reference);
    }

    @Override
    public InputStream openBlob(String digest) throws IOException {
        return layout.openBlob(digest);
    }

    @Override
    public OptionalLong blobSize(String digest) throws IOException {
        return layout.blobSize(digest);
    }

    @Override
    public boolean pushBlob(String digest, Path file) throws IOException {
        return layout.pushBlob(digest, file);
    }

    @Override
    public boolean pushBlob(String digest, byte[] bytes) throws IOException {
        return layout.pushBlob(digest, bytes);
    }

    @Override
    public synchronized void pushManifest(String reference, Manifest manifest) throws IOException {
        layout.pushManifest(reference, manifest);
        if (!reference.startsWith("sha256:")) {
            pack();
        }
    }

    /** Writes oci-layout, index.json and every blob into the archive (same names as in the directory). */
    private void pack() throws IOException {
        Path tmp = Files.createTempFile(archive.toAbsolutePath().getParent(), ".nydusify-", ".tar.tmp");
        try {
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
                 TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                addDir(tar, "blobs/");
                addDir(tar, "blobs/sha256/");
                List<Path> blobs;
                try (Stream<Path> s = Files.list(scratch.resolve("blobs/sha256"))) {
                    blobs = s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
                }
                for (Path b : blobs) {
                    addFile(tar, "blobs/sha256/" + b.getFileName(), b);
                }
                addFile(tar, "oci-layout", scratch.resolve("oci-layout"));
                addFile(tar, "index.json", scratch.resolve("index.json"));
                tar.finish();
            }
            Files.move(tmp, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void addDir(TarArchiveOutputStream tar, String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(040755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    private static void addFile(TarArchiveOutputStream tar, String name, Path file) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(Files.size(file));
        e.setMode(0100644);
        tar.putArchiveEntry(e);
        Files.copy(file, tar);
        tar.closeArchiveEntry();
    }

    @Override
    public void close() throws IOException {
        layout.close();
        Converter.deleteTree(scratch);
    }
}
