package dev.nydus4j.snapshotter;

import java.util.Map;

/** The snapshot labels the snapshotter reads (SNAPSHOTTER.md 1.4, 2, 3.1). */
final class Labels {
    /** "I am about to build committed snapshot X": set by containerd's unpacker on layer Prepare. */
    static final String TARGET_REF = "containerd.io/snapshot.ref";
    static final String NYDUS_BLOB = "containerd.io/snapshot/nydus-blob";
    static final String NYDUS_BOOTSTRAP = "containerd.io/snapshot/nydus-bootstrap";
    static final String CRI_IMAGE_REF = "containerd.io/snapshot/cri.image-ref";
    static final String CRI_LAYER_DIGEST = "containerd.io/snapshot/cri.layer-digest";
    /** Buildkit's fallback for the image reference. */
    static final String STARGZ_REFERENCE = "containerd.io/snapshot/remote/stargz.reference";
    static final String OVERLAY_VOLATILE = "containerd.io/snapshot/overlay.volatile";

    private Labels() {
    }

    static boolean isTrue(Map<String, String> labels, String name) {
        return "true".equalsIgnoreCase(labels.getOrDefault(name, ""));
    }

    /** The image reference a layer was pulled as, or null. */
    static String imageRef(Map<String, String> labels) {
        String ref = labels.get(CRI_IMAGE_REF);
        return ref != null ? ref : labels.get(STARGZ_REFERENCE);
    }
}
