package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A manifest or index exactly as stored (its digest is over these bytes) with its media type.
 *
 * @param bytes     raw JSON
 * @param mediaType media type (from the registry, the layout descriptor or the JSON's {@code mediaType})
 * @param digest    {@code sha256:<hex>} of {@code bytes}
 */
public record Manifest(byte[] bytes, String mediaType, String digest) {
    static final ObjectMapper JSON = new ObjectMapper();

    public Manifest {
        Objects.requireNonNull(bytes, "bytes is null");
        Objects.requireNonNull(digest, "digest is null");
        mediaType = mediaType == null || mediaType.isEmpty() ? sniffMediaType(bytes) : mediaType;
    }

    /** A manifest of {@code json}, serialized compactly. */
    static Manifest of(JsonNode json, String mediaType) {
        byte[] bytes = toBytes(json);
        return new Manifest(bytes, mediaType, sha256(bytes));
    }

    ObjectNode json() throws IOException {
        JsonNode n = JSON.readTree(bytes);
        if (n == null || !n.isObject()) {
            throw new IOException("manifest " + digest + " is not a JSON object");
        }
        return (ObjectNode) n;
    }

    boolean isIndex() {
        return MediaTypes.isIndex(mediaType);
    }

    static byte[] toBytes(JsonNode json) {
        try {
            return JSON.writeValueAsBytes(json);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize JSON", e);
        }
    }

    /** Media type from the JSON itself, with OCI's structural fallback (manifests may omit the field). */
    static String sniffMediaType(byte[] bytes) {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                return "";
            }
            String t = n.path("mediaType").asText("");
            if (!t.isEmpty()) {
                return t;
            }
            if (n.has("manifests")) {
                return MediaTypes.OCI_INDEX;
            }
            return n.has("layers") ? MediaTypes.OCI_MANIFEST : "";
        } catch (IOException e) {
            return "";
        }
    }

    static String sha256(byte[] data) {
        return "sha256:" + HexFormat.of().formatHex(sha256Digest().digest(data));
    }

    static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }
}
