package dev.nydus4j.convert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The read-only part shared by image stores over an uncompressed tar file (OCI archive, docker archive): blobs are
 * entries indexed once by digest and streamed with positional reads, so layers can be converted in parallel.
 */
abstract class TarArchiveStore implements ImageStore {
    private static final long JSON_LIMIT_BYTES = 16 << 20;

    protected final Path file;
    protected final String tag;
    /** Blob entries by digest ({@code sha256:…}), filled by the subclass while it indexes the tar. */
    protected final Map<String, TarSlice> blobs = new HashMap<>();

    TarArchiveStore(Path file, String tag) {
        this.file = file;
        this.tag = tag;
    }

    /** Tar entry names as archivers write them: a leading "./" is dropped. */
    static String entryName(String name) {
        return name.startsWith("./") ? name.substring(2) : name;
    }

    /** A small (JSON) entry read whole, at most 16 MiB; {@code what} names it in errors. */
    protected byte[] readSmall(TarSlice s, String what) throws IOException {
        if (s.size() > JSON_LIMIT_BYTES) {
            throw new IOException(describe() + ": " + what + " is larger than " + JSON_LIMIT_BYTES + " bytes");
        }
        try (InputStream in = s.open(file)) {
            return in.readAllBytes();
        }
    }

    /** Why this store cannot be written to, and what to use instead. */
    protected abstract String readOnlyHint();

    @Override
    public String defaultReference() {
        return tag == null ? "" : tag;
    }

    @Override
    public InputStream openBlob(String digest) throws IOException {
        TarSlice s = blobs.get(digest);
        if (s == null) {
            throw new NoSuchFileException(describe(), null, "blob " + digest + " missing from the archive");
        }
        return s.open(file);
    }

    @Override
    public OptionalLong blobSize(String digest) {
        TarSlice s = blobs.get(digest);
        return s == null ? OptionalLong.empty() : OptionalLong.of(s.size());
    }

    @Override
    public boolean pushBlob(String digest, Path f) {
        throw readOnly();
    }

    @Override
    public boolean pushBlob(String digest, byte[] bytes) {
        throw readOnly();
    }

    @Override
    public void pushManifest(String reference, Manifest m) {
        throw readOnly();
    }

    private UnsupportedOperationException readOnly() {
        return new UnsupportedOperationException(describe() + " " + readOnlyHint());
    }

    @Override
    public void close() {
        // channels are opened per stream
    }
}
