package dev.nydus4j.storage;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/** Chunk digest algorithms with their on-disk ids (RAFS spec 2.1). Thread-safe. */
public enum DigestAlgorithm {
    BLAKE3(0, "blake3"),
    SHA256(1, "sha256");

    public static final int DIGEST_SIZE = 32;

    private final int id;
    private final String configName;

    DigestAlgorithm(int id, String configName) {
        this.id = id;
        this.configName = configName;
    }

    public int id() {
        return id;
    }

    public String configName() {
        return configName;
    }

    public static DigestAlgorithm fromId(int id) {
        for (DigestAlgorithm a : values()) {
            if (a.id == id) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown digest algorithm id " + id + "; known: 0 blake3, 1 sha256");
    }

    public static DigestAlgorithm fromName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (DigestAlgorithm a : values()) {
            if (a.configName.equals(n)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown digester '" + name + "'; supported: blake3, sha256");
    }

    /** 32-byte digest of {@code data[off, off+len)}. */
    public byte[] digest(byte[] data, int off, int len) {
        // Direct calls rather than newHasher(): no switch, no try/catch and no megamorphic Hasher inlined into
        // hot callers (JDK 17.0.15's C2 crashed compiling such a caller once).
        if (this == BLAKE3) {
            return Blake3.digest(data, off, len);
        }
        MessageDigest md = sha256();
        md.update(data, off, len);
        return md.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }

    /**
     * 32-byte digest of {@code data[off, off+len)} using {@code pool} for large inputs: BLAKE3 hashes subtrees in
     * parallel; SHA-256 is inherently sequential and ignores the pool. Same result as {@link #digest}.
     */
    public byte[] digestParallel(byte[] data, int off, int len, java.util.concurrent.ForkJoinPool pool) {
        return this == BLAKE3 ? Blake3.digestParallel(data, off, len, pool) : digest(data, off, len);
    }

    /** A fresh incremental hasher (not thread-safe itself). */
    public Hasher newHasher() {
        switch (this) {
            case SHA256: {
                MessageDigest md = sha256();
                return new Hasher() {
                    @Override
                    public Hasher update(byte[] b, int off, int len) {
                        md.update(b, off, len);
                        return this;
                    }

                    @Override
                    public byte[] finish() {
                        return md.digest();
                    }
                };
            }
            case BLAKE3:
                return Blake3.newHasher();
            default:
                throw new AssertionError(this);
        }
    }

    /** Incremental hashing. */
    public interface Hasher {
        Hasher update(byte[] b, int off, int len);

        byte[] finish();
    }
}
