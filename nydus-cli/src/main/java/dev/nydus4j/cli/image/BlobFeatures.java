package dev.nydus4j.cli.image;

import dev.nydus4j.storage.blob.BlobInfo;

import java.util.ArrayList;
import java.util.List;

/** Human names of blob feature bits (RAFS spec 2.3) for check and inspect output. */
final class BlobFeatures {
    private static final int[] BITS = {BlobInfo.FEATURE_ALIGNED, BlobInfo.FEATURE_INLINED_FS_META,
            BlobInfo.FEATURE_CHUNK_INFO_V2, BlobInfo.FEATURE_ZRAN, BlobInfo.FEATURE_SEPARATE,
            BlobInfo.FEATURE_INLINED_CHUNK_DIGEST, BlobInfo.FEATURE_TARFS, BlobInfo.FEATURE_BATCH,
            BlobInfo.FEATURE_ENCRYPTED, BlobInfo.FEATURE_HAS_TAR_HEADER, BlobInfo.FEATURE_HAS_TOC,
            BlobInfo.FEATURE_CAP_TAR_TOC};
    private static final String[] NAMES = {"aligned", "inlined_fs_meta", "chunk_info_v2", "zran", "separate",
            "inlined_chunk_digest", "tarfs", "batch", "encrypted", "has_tar_header", "has_toc", "cap_tar_toc"};

    private BlobFeatures() {
    }

    static String describe(int features) {
        List<String> names = new ArrayList<>();
        int rest = features;
        for (int i = 0; i < BITS.length; i++) {
            if ((features & BITS[i]) != 0) {
                names.add(NAMES[i]);
                rest &= ~BITS[i];
            }
        }
        if (rest != 0) {
            names.add(String.format("0x%x", rest));
        }
        return names.isEmpty() ? "none" : String.join(",", names);
    }
}
