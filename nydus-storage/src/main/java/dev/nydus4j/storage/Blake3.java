package dev.nydus4j.storage;

/** BLAKE3-256. PLACEHOLDER until the storage work lands: replaced by a real implementation. */
final class Blake3 {
    private Blake3() {
    }

    static DigestAlgorithm.Hasher newHasher() {
        throw new UnsupportedOperationException("BLAKE3 not implemented yet");
    }
}
