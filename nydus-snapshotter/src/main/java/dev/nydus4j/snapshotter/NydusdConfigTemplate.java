package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.storage.config.NydusdConfigParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The seed nydusd config ({@code --nydusd-config}, upstream's JSON shape) and its per-image copies: for a
 * {@code registry} backend the {@code host} and {@code repo} come from the image reference and the {@code auth} from
 * the docker config when the seed has none; a blob cache's {@code work_dir} is the snapshotter's cache directory.
 * The seed is validated with nydusd's own parser at start-up, so a bad file fails there. Immutable.
 */
final class NydusdConfigTemplate {
    private static final long MAX_BYTES = 1 << 20;
    private final ObjectNode seed;
    private final Path source;

    private NydusdConfigTemplate(ObjectNode seed, Path source) {
        this.seed = seed;
        this.source = source;
    }

    static NydusdConfigTemplate load(Path file) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException("nydusd config " + file + " is larger than " + MAX_BYTES + " bytes");
        }
        String text = Files.readString(file);
        try {
            NydusdConfigParser.parse(text, file.toString());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad nydusd config " + file + ": " + e.getMessage(), e);
        }
        JsonNode node;
        try {
            node = StateFile.JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalArgumentException("nydusd config " + file + " is not JSON (the snapshotter takes"
                    + " upstream's v1 JSON template): " + e.getMessage(), e);
        }
        if (!(node instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("nydusd config " + file + " is not a JSON object");
        }
        return new NydusdConfigTemplate(obj, file);
    }

    /** The backend type of the seed ({@code device.backend.type}), e.g. registry or localfs. */
    String backendType() {
        return seed.path("device").path("backend").path("type").asText("");
    }

    /**
     * The config for one image.
     *
     * @param imageRef the reference the image was pulled as; required for a registry backend
     */
    String forImage(String imageRef, Path cacheDir, DockerAuth auth) throws IOException {
        ObjectNode copy = seed.deepCopy();
        JsonNode device = copy.path("device");
        if (device instanceof ObjectNode dev) {
            JsonNode backend = dev.path("backend");
            String type = backend.path("type").asText();
            if (backend instanceof ObjectNode b && ("registry".equals(type) || "dragonfly".equals(type))) {
                ObjectNode cfg = b.path("config") instanceof ObjectNode c ? c : b.putObject("config");
                if ("dragonfly".equals(type)) {
                    // the dragonfly backend's origin registry is its "registry" object; a blob_url origin needs nothing
                    cfg = cfg.path("registry") instanceof ObjectNode r ? r : null;
                }
                if (cfg != null) {
                    fillRegistry(cfg, imageRef, auth);
                }
            }
            JsonNode cache = dev.path("cache");
            if (cache instanceof ObjectNode c && "blobcache".equals(c.path("type").asText())) {
                ObjectNode cfg = c.path("config") instanceof ObjectNode cc ? cc : c.putObject("config");
                cfg.put("work_dir", cacheDir.toString());
            }
        }
        return StateFile.JSON.writeValueAsString(copy);
    }

    private void fillRegistry(ObjectNode cfg, String imageRef, DockerAuth auth) throws IOException {
        if (imageRef == null) {
            throw new SnapshotException(SnapshotException.Code.FAILED_PRECONDITION, "the nydusd config "
                    + source + " has a registry backend, but the image carries no "
                    + Labels.CRI_IMAGE_REF + " label; pull it over CRI with disable_snapshot_annotations = false");
        }
        ImageReference ref = ImageReference.parse(imageRef);
        cfg.put("host", ref.host());
        cfg.put("repo", ref.repo());
        if (cfg.path("auth").asText("").isEmpty()) {
            String a = auth.lookup(ref.host());
            if (a != null) {
                cfg.put("auth", a);
            }
        }
    }
}
