package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * A {@code docker save} tarball, read-only: {@code manifest.json} names the config and layer files; a Docker v2
 * manifest is synthesized over them (layer digests = sha256 of the stored layer files, hashed once at open).
 * Entries are read with positional reads, so layers can be streamed in parallel.
 */
final class DockerArchiveStore extends TarArchiveStore {
    private final Manifest manifest;

    private DockerArchiveStore(Path file, String tag) throws IOException {
        super(file, tag);
        Map<String, TarSlice> byName = new HashMap<>();
        try (TarFile tar = new TarFile(file)) {
            for (TarArchiveEntry e : tar.getEntries()) {
                if (e.isFile()) {
                    byName.put(entryName(e.getName()), new TarSlice(e.getDataOffset(), e.getSize()));
                }
            }
        }
        JsonNode list = Manifest.JSON.readTree(read(byName, "manifest.json"));
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IOException(describe() + ": manifest.json is not a non-empty JSON array");
        }
        JsonNode chosen = list.get(0);
        if (tag != null && !tag.isEmpty()) {
            chosen = null;
            for (JsonNode m : list) {
                for (JsonNode t : m.path("RepoTags")) {
                    if (t.asText().equals(tag) || t.asText().endsWith(":" + tag)) {
                        chosen = m;
                    }
                }
            }
            if (chosen == null) {
                throw new NoSuchFileException(describe() + ":" + tag, null, "no image with this RepoTag");
            }
        }
        byte[] config = read(byName, chosen.path("Config").asText());
        String configDigest = Manifest.sha256(config);
        blobs.put(configDigest, byName.get(entryName(chosen.path("Config").asText())));
        ObjectNode m = Manifest.JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.DOCKER_MANIFEST);
        ObjectNode c = m.putObject("config");
        c.put("mediaType", MediaTypes.DOCKER_CONFIG);
        c.put("digest", configDigest);
        c.put("size", config.length);
        var layers = m.putArray("layers");
        for (JsonNode l : chosen.path("Layers")) {
            TarSlice s = byName.get(entryName(l.asText()));
            if (s == null) {
                throw new NoSuchFileException(describe(), null, "layer file " + l.asText() + " missing from the archive");
            }
            String digest = hash(s);
            blobs.put(digest, s);
            ObjectNode d = layers.addObject();
            d.put("mediaType", MediaTypes.DOCKER_LAYER);
            d.put("digest", digest);
            d.put("size", s.size());
        }
        this.manifest = Manifest.of(m, MediaTypes.DOCKER_MANIFEST);
    }

    static DockerArchiveStore open(Path file, String tag) throws IOException {
        return new DockerArchiveStore(file, tag);
    }

    private byte[] read(Map<String, TarSlice> byName, String name) throws IOException {
        TarSlice s = byName.get(entryName(name));
        if (s == null) {
            throw new NoSuchFileException(describe(), null, name + " missing from the archive");
        }
        return readSmall(s, name);
    }

    private String hash(TarSlice s) throws IOException {
        var md = Manifest.sha256Digest();
        try (InputStream in = s.open(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    @Override
    public String describe() {
        return "docker-archive:" + file;
    }

    @Override
    public Manifest manifest(String reference) {
        return manifest;
    }

    @Override
    protected String readOnlyHint() {
        return "is read-only: docker-archive works only as a source; write to a registry or an OCI layout"
                + " (oci:DIR[:tag])";
    }
}
