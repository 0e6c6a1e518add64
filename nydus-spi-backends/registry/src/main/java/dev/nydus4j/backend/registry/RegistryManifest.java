package dev.nydus4j.backend.registry;

import java.util.Objects;

/**
 * A manifest or index as fetched from a registry.
 *
 * @param bytes     the exact bytes (digests are computed over them)
 * @param mediaType {@code Content-Type} of the response, e.g. {@code application/vnd.oci.image.manifest.v1+json}
 * @param digest    {@code sha256:<hex>} of {@code bytes}
 */
public record RegistryManifest(byte[] bytes, String mediaType, String digest) {
    public RegistryManifest {
        Objects.requireNonNull(bytes, "bytes is null");
        Objects.requireNonNull(mediaType, "mediaType is null");
        Objects.requireNonNull(digest, "digest is null");
    }
}
