package dev.nydus4j.convert;

import java.util.Set;

/** OCI / Docker media types and the nydus annotation keys (API spec 6.1). */
public final class MediaTypes {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
    public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public static final String NYDUS_BLOB = "application/vnd.oci.image.layer.nydus.blob.v1";
    public static final String NYDUS_CONFIG = "application/vnd.nydus.image.config.v1+json";
    public static final String NYDUS_MANIFEST_ARTIFACT = "application/vnd.nydus.image.manifest.v1+json";

    public static final String ANNOTATION_BLOB = "containerd.io/snapshot/nydus-blob";
    public static final String ANNOTATION_BOOTSTRAP = "containerd.io/snapshot/nydus-bootstrap";
    public static final String ANNOTATION_FS_VERSION = "containerd.io/snapshot/nydus-fs-version";
    public static final String ANNOTATION_SOURCE_DIGEST = "containerd.io/snapshot/nydus-source-digest";
    public static final String ANNOTATION_SOURCE_REFERENCE = "containerd.io/snapshot/nydus-source-reference";
    public static final String ANNOTATION_BUILDER_VERSION = "containerd.io/snapshot/nydus-builder-version";
    public static final String ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
    public static final String LEGACY_NYDUS_FEATURE = "nydus.remoteimage.v1";

    /** Layer media types the converter can read (plain, gzip or zstd tar; compression is detected by magic). */
    static final Set<String> SOURCE_LAYERS = Set.of(OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER,
            DOCKER_LAYER_GZIP, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip");

    private MediaTypes() {
    }

    static boolean isIndex(String mediaType) {
        return OCI_INDEX.equals(mediaType) || DOCKER_MANIFEST_LIST.equals(mediaType);
    }

    static boolean isManifest(String mediaType) {
        return OCI_MANIFEST.equals(mediaType) || DOCKER_MANIFEST.equals(mediaType);
    }
}
