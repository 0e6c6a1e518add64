package dev.nydus4j.backend.localfs;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * {@code localfs} backend keys (CONFIG.md 5.5). {@code readahead} and {@code readahead_sec} are legacy keys,
 * accepted and ignored.
 *
 * @param blobFile if set, every blob id maps to this one file
 * @param dir      directory holding files named exactly {@code <blob id>}
 * @param altDirs  searched in order when {@code dir/<id>} is missing or empty
 */
public record LocalfsConfig(String blobFile, String dir, List<String> altDirs) {

    @JsonCreator
    public LocalfsConfig(@JsonProperty("blob_file") String blobFile,
                         @JsonProperty("dir") String dir,
                         @JsonProperty("alt_dirs") List<String> altDirs,
                         @JsonProperty("readahead") Boolean readahead,
                         @JsonProperty("readahead_sec") Integer readaheadSec) {
        this(blobFile, dir, altDirs);
    }

    public LocalfsConfig {
        blobFile = blobFile == null ? "" : blobFile;
        dir = dir == null ? "" : dir;
        altDirs = altDirs == null ? List.of() : List.copyOf(altDirs);
    }

    /** Config for one directory of blobs. */
    public static LocalfsConfig ofDir(String dir) {
        return new LocalfsConfig("", dir, List.of());
    }
}
