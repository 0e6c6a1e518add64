package dev.nydus4j.rafs.builder;

import java.util.Locale;

/** What {@link ImageBuilder} reads. */
public enum SourceType {
    /** Directory if the source is one, else a tar stream with gzip/zstd detected from its magic. */
    AUTO,
    /** A directory tree (upstream {@code dir-rafs}). */
    DIR,
    /** An OCI layer tar, optionally gzip- or zstd-compressed (detected) (upstream {@code tar-rafs}). */
    TAR,
    /** A gzip-compressed tar (upstream {@code targz-rafs}); plain tar is accepted too. */
    TARGZ;

    /** Parses upstream's {@code --type} names ({@code dir-rafs}, {@code directory}, {@code tar-rafs}, ...). */
    public static SourceType fromName(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "auto":
                return AUTO;
            case "dir-rafs":
            case "directory":
            case "dir":
                return DIR;
            case "tar-rafs":
            case "tar":
                return TAR;
            case "targz-rafs":
            case "targz":
                return TARGZ;
            default:
                throw new IllegalArgumentException("unsupported source type '" + name
                        + "'; supported: dir-rafs (directory), tar-rafs, targz-rafs");
        }
    }
}
