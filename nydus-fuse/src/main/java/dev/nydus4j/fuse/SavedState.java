package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.api.config.NydusdConfig;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What nydusd hands a supervisor with its /dev/fuse descriptor ({@code PUT /api/v1/daemon/fuse/sendfd}) and what
 * the next daemon restores from it ({@code /takeover}): JSON with the daemon id, the FUSE mountpoint, the
 * parameters FUSE_INIT settled, the numbering behind the kernel's node ids (instance numbers, pseudo directories),
 * the negative names cached in the pseudo root, and every image served (virtual mountpoint, bootstrap, the config
 * as parsed, the prefetch list, a registry_auth set through the API). Secrets travel in clear, as in upstream's
 * state: the supervisor socket must be reachable by root only. The format is nydus4j's own ({@value #FORMAT});
 * upstream's Rust state is not readable by it, nor this by upstream.
 *
 * @param daemonId      {@code --id} of the daemon that saved it, or null
 * @param mountpoint    the FUSE mountpoint (absolute)
 * @param fuse          what FUSE_INIT settled
 * @param numbering     instance and pseudo-directory numbering
 * @param rootNegatives negative names cached in the pseudo root
 * @param mounts        the images served
 */
record SavedState(String daemonId, String mountpoint, FuseInit.Negotiated fuse, MountTable.Numbering numbering,
                  List<String> rootNegatives, List<Mount> mounts) {
    static final String FORMAT = "nydus4j-fuse-state-v1";
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /**
     * One image served: where, from which bootstrap, with which config and prefetch list (null: the image's), and
     * the registry_auth last set through {@code PUT /api/v1/config} (null: none).
     */
    record Mount(String mountpoint, int number, String bootstrap, NydusdConfig config, List<String> prefetchFiles,
                 String registryAuth) {
    }

    byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("daemon_id", daemonId);
        root.put("mountpoint", mountpoint);
        ObjectNode f = root.putObject("fuse_init");
        f.put("minor", fuse.minor());
        f.put("flags", fuse.flags());
        f.put("max_readahead", fuse.maxReadahead());
        f.put("max_pages", fuse.maxPages());
        f.put("max_write", fuse.maxWrite());
        root.put("next_instance_number", numbering.nextNumber());
        root.put("next_pseudo_ino", numbering.nextPseudoIno());
        ObjectNode pseudo = root.putObject("pseudo_inos");
        numbering.pseudoInos().forEach(pseudo::put);
        ArrayNode neg = root.putArray("root_negatives");
        rootNegatives.forEach(neg::add);
        ArrayNode ms = root.putArray("mounts");
        for (Mount m : mounts) {
            ObjectNode o = ms.addObject();
            o.put("mountpoint", m.mountpoint());
            o.put("instance_number", m.number());
            o.put("bootstrap", m.bootstrap());
            o.set("config", JSON.valueToTree(m.config()));
            if (m.prefetchFiles() != null) {
                ArrayNode p = o.putArray("prefetch_files");
                m.prefetchFiles().forEach(p::add);
            }
            if (m.registryAuth() != null) {
                o.put("registry_auth", m.registryAuth());
            }
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the daemon state", e);
        }
    }

    /**
     * Parses a state saved by {@link #toJson}.
     *
     * @param source where it came from, for messages
     * @throws IOException naming the source and the field when it is not such a state
     */
    static SavedState parse(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IOException("daemon state from " + source + " is not JSON (" + json.length + " bytes): "
                    + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText())) {
            throw new IOException("daemon state from " + source + " expected format '" + FORMAT + "', found "
                    + (root == null || !root.isObject() ? "no JSON object" : "'" + root.path("format").asText() + "'"));
        }
        try {
            JsonNode f = field(root, "fuse_init", source);
            FuseInit.Negotiated fuse = new FuseInit.Negotiated(field(f, "minor", source).asInt(),
                    field(f, "flags", source).asInt(), field(f, "max_readahead", source).asInt(),
                    field(f, "max_pages", source).asInt(), field(f, "max_write", source).asInt());
            Map<String, Long> pseudo = new LinkedHashMap<>();
            field(root, "pseudo_inos", source).fields().forEachRemaining(e -> pseudo.put(e.getKey(),
                    e.getValue().asLong()));
            MountTable.Numbering numbering = new MountTable.Numbering(
                    field(root, "next_instance_number", source).asInt(), pseudo,
                    field(root, "next_pseudo_ino", source).asLong());
            List<String> negatives = new ArrayList<>();
            root.path("root_negatives").forEach(n -> negatives.add(n.asText()));
            List<Mount> mounts = new ArrayList<>();
            for (JsonNode m : field(root, "mounts", source)) {
                List<String> prefetch = null;
                if (m.has("prefetch_files")) {
                    prefetch = new ArrayList<>();
                    for (JsonNode p : m.get("prefetch_files")) {
                        prefetch.add(p.asText());
                    }
                }
                mounts.add(new Mount(field(m, "mountpoint", source).asText(),
                        field(m, "instance_number", source).asInt(), field(m, "bootstrap", source).asText(),
                        JSON.treeToValue(field(m, "config", source), NydusdConfig.class), prefetch,
                        m.path("registry_auth").isTextual() ? m.get("registry_auth").asText() : null));
            }
            String id = root.path("daemon_id").isTextual() ? root.get("daemon_id").asText() : null;
            return new SavedState(id, field(root, "mountpoint", source).asText(), fuse, numbering, negatives, mounts);
        } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException("daemon state from " + source + " is invalid: " + e.getMessage(), e);
        }
    }

    private static JsonNode field(JsonNode n, String name, String source) throws IOException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            throw new IOException("daemon state from " + source + " has no '" + name + "'");
        }
        return v;
    }
}
