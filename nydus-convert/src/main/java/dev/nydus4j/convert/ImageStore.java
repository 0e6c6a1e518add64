package dev.nydus4j.convert;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Where images are read from and written to: a registry repository, an OCI layout directory or (read-only) a
 * docker-archive tarball. Blob streams are returned unverified; callers wrap them in {@link VerifyingInputStream}.
 * Implementations are thread-safe; the caller closes the store.
 */
interface ImageStore extends AutoCloseable {
    /** Human-readable location for messages, e.g. {@code 127.0.0.1:5000/busybox} or {@code oci:/tmp/layout}. */
    String describe();

    /** Tag or digest used when the location names none. */
    String defaultReference();

    /** The manifest or index under a tag or digest; {@link java.nio.file.NoSuchFileException} when missing. */
    Manifest manifest(String reference) throws IOException;

    InputStream openBlob(String digest) throws IOException;

    OptionalLong blobSize(String digest) throws IOException;

    /** Stores a blob; false when it was already present (nothing transferred). */
    boolean pushBlob(String digest, Path file) throws IOException;

    /** Stores a small blob; false when it was already present. */
    boolean pushBlob(String digest, byte[] bytes) throws IOException;

    /** Makes blob {@code digest} of {@code from} available here without transferring it; false when not possible. */
    default boolean mountBlob(String digest, ImageStore from) throws IOException {
        return false;
    }

    /**
     * Starts an upload that is fed while the blob is still being built ({@link StreamingPush}), or null when this
     * store cannot take one (then blobs are pushed from their files).
     */
    default StreamingPush.Upload startStreamingUpload() throws IOException {
        return null;
    }

    /** Stores a manifest or index under {@code reference} (tag or its digest). */
    void pushManifest(String reference, Manifest manifest) throws IOException;

    @Override
    void close() throws IOException;
}
