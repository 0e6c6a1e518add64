package dev.nydus4j.spi;

import java.io.IOException;

/**
 * Factory of one backend type, discovered with {@link java.util.ServiceLoader} (register it in
 * {@code META-INF/services/dev.nydus4j.spi.BlobBackendProvider}) or registered explicitly by embedders.
 *
 * @param <C> the backend's config type: a record bound from the config object of this type (upstream's
 *            {@code backend.<type>} table, or v1 {@code device.backend.config}); unknown keys are rejected
 */
public interface BlobBackendProvider<C> {

    /** Current SPI version; providers may check {@link BackendContext#spiVersion()}. */
    int SPI_VERSION = 1;

    /** Backend type name as written in configs: lowercase {@code [a-z0-9-]+}, e.g. {@code localfs}. */
    String type();

    /** Class the config object is bound to (a record or bean Jackson can construct). */
    Class<C> configType();

    /** Checks a bound config before any blob is opened; throws IllegalArgumentException naming the key. */
    default void validate(C config) {
    }

    /**
     * Whether the backend's blobs retry failed reads by themselves (e.g. {@code registry}, which applies its
     * {@code retry_limit} with back-off per HTTP request). The core never wraps such a backend in its retry wrapper,
     * so retries never multiply. Default false.
     */
    default boolean retriesInternally() {
        return false;
    }

    /**
     * Extra attempts the core's retry wrapper makes for a read that failed with a retryable
     * {@link BackendException} (the config's {@code retry_limit}); ignored when {@link #retriesInternally()}.
     * Default 0: no retries.
     */
    default int retryLimit(C config) {
        return 0;
    }

    /**
     * Opens one blob.
     *
     * @throws java.io.FileNotFoundException when the blob does not exist in this backend
     */
    BlobBackend open(C config, String blobId, BackendContext context) throws IOException;
}
