package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The JSON of a converted image (API spec 6.2-6.4, RAFS spec 10): nydus blob and bootstrap layer descriptors,
 * the rewritten config (diff_ids, "Nydus Converter" history entry) and the manifest with its annotations.
 */
final class NydusManifest {
    private NydusManifest() {
    }

    static ObjectNode blobDescriptor(String digest, long size) {
        ObjectNode d = Manifest.JSON.createObjectNode();
        d.put("mediaType", MediaTypes.NYDUS_BLOB);
        d.put("digest", digest);
        d.put("size", size);
        d.putObject("annotations").put(MediaTypes.ANNOTATION_BLOB, "true");
        return d;
    }

    static ObjectNode bootstrapDescriptor(BootstrapLayer boot, boolean oci, int fsVersion) {
        ObjectNode d = Manifest.JSON.createObjectNode();
        d.put("mediaType", oci ? MediaTypes.OCI_LAYER_GZIP : MediaTypes.DOCKER_LAYER_GZIP);
        d.put("digest", boot.digest());
        d.put("size", boot.gzip().length);
        ObjectNode ann = d.putObject("annotations");
        ann.put(MediaTypes.ANNOTATION_FS_VERSION, Integer.toString(fsVersion));
        ann.put(MediaTypes.ANNOTATION_BOOTSTRAP, "true");
        return d;
    }

    /**
     * The source config with {@code rootfs.diff_ids} = blob digests + bootstrap diff id and the converter's history
     * entry; {@code keepHistory} false (blobs in an external backend) keeps only that entry.
     */
    static ObjectNode config(ObjectNode source, List<ObjectNode> blobLayers, BootstrapLayer boot,
                             boolean keepHistory) {
        ObjectNode c = source.deepCopy();
        ObjectNode rootfs = c.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.putArray("diff_ids");
        blobLayers.forEach(l -> diffIds.add(l.path("digest").asText()));
        diffIds.add(boot.diffId());
        ArrayNode history = Manifest.JSON.createArrayNode();
        if (keepHistory && source.path("history").isArray()) {
            source.path("history").forEach(h -> history.add(h.deepCopy()));
        }
        ObjectNode h = history.addObject();
        h.put("created_by", "Nydus Converter");
        h.put("comment", "Nydus Bootstrap Layer");
        c.set("history", history);
        return c;
    }

    /**
     * The manifest.
     *
     * @param configType media type of the config descriptor
     * @param layers     blob layers then the bootstrap layer
     * @param subject    set {@code subject} to the source manifest's descriptor (spec 6.6; without platform, which
     *                   some registries reject) so the Referrers API lists the nydus image under the source
     * @param fsVersion  RAFS version of the bootstrap (annotation {@code containerd.io/snapshot/nydus-fs-version})
     */
    static Manifest manifest(boolean oci, String configType, String configDigest, long configSize,
                             List<ObjectNode> layers, Manifest source, String sourceReference, boolean subject,
                             int fsVersion) {
        ObjectNode out = Manifest.JSON.createObjectNode();
        out.put("schemaVersion", 2);
        String type = oci ? MediaTypes.OCI_MANIFEST : MediaTypes.DOCKER_MANIFEST;
        out.put("mediaType", type);
        ObjectNode cfg = out.putObject("config");
        cfg.put("mediaType", configType);
        cfg.put("digest", configDigest);
        cfg.put("size", configSize);
        ArrayNode outLayers = out.putArray("layers");
        layers.forEach(outLayers::add);
        if (subject) {
            ObjectNode sub = out.putObject("subject");
            sub.put("mediaType", source.mediaType());
            sub.put("digest", source.digest());
            sub.put("size", source.bytes().length);
        }
        ObjectNode ann = out.putObject("annotations");
        ann.put(MediaTypes.ANNOTATION_SOURCE_DIGEST, source.digest());
        ann.put(MediaTypes.ANNOTATION_SOURCE_REFERENCE, sourceReference);
        ann.put(MediaTypes.ANNOTATION_FS_VERSION, Integer.toString(fsVersion));
        ann.put(MediaTypes.ANNOTATION_BUILDER_VERSION, Converter.builderVersion());
        return Manifest.of(out, type);
    }
}
