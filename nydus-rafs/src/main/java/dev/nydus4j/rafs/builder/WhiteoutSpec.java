package dev.nydus4j.rafs.builder;

import java.util.Locale;

/**
 * How deletions of lower-layer files are expressed in a layer (upstream {@code --whiteout-spec}).
 *
 * <p>The builder keeps OCI markers ({@code .wh.NAME}, {@code .wh..wh..opq}) as empty regular files in a
 * per-layer tree, and converts overlayfs markers into them, so that {@link Merger} applies one convention.
 */
public enum WhiteoutSpec {
    /** {@code .wh.NAME} deletes NAME, {@code .wh..wh..opq} makes its directory opaque. */
    OCI,
    /** A 0/0 character device deletes its name; xattr {@code trusted.overlay.opaque=y} makes a directory opaque. */
    OVERLAYFS,
    /** No processing: whatever is in the layer is kept as it is. */
    NONE;

    public static WhiteoutSpec fromName(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "oci":
                return OCI;
            case "overlayfs":
                return OVERLAYFS;
            case "none":
                return NONE;
            default:
                throw new IllegalArgumentException("unknown whiteout spec '" + name
                        + "'; supported: oci, overlayfs, none");
        }
    }
}
