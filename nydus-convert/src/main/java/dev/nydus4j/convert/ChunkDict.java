package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A chunk dictionary ({@code --chunk-dict bootstrap:local:PATH} or {@code bootstrap:registry:REF}): a bootstrap
 * whose chunks new layers may reference instead of storing them again. For a registry dictionary the blobs it
 * names are known with their sizes, so that the converter can make them available in the target.
 */
final class ChunkDict implements AutoCloseable {
    final Path bootstrap;
    /** Store holding the dictionary's blobs, or null for a local bootstrap. */
    final ImageStore store;
    /** Blob digest ({@code sha256:hex}) → size, of the dictionary image's nydus blob layers. */
    final Map<String, Long> blobs;

    private ChunkDict(Path bootstrap, ImageStore store, Map<String, Long> blobs) {
        this.bootstrap = bootstrap;
        this.store = store;
        this.blobs = blobs;
    }

    static ChunkDict resolve(String spec, ConvertOptions options, Platform platform, Path tempDir) throws IOException {
        String[] p = spec.split(":", 3);
        if (p.length != 3 || !p[0].equals("bootstrap") || !(p[1].equals("local") || p[1].equals("registry"))) {
            throw new IllegalArgumentException("invalid --chunk-dict '" + spec
                    + "': expected bootstrap:local:<bootstrap path> or bootstrap:registry:<image ref>");
        }
        if (p[1].equals("local")) {
            Path boot = Path.of(p[2]);
            if (!Files.isRegularFile(boot)) {
                throw new NoSuchFileException(boot.toString(), null, "chunk dict bootstrap not found");
            }
            return new ChunkDict(boot, null, Map.of());
        }
        ImageLocation loc = ImageLocation.parse(p[2]);
        ImageStore store = loc.open(options.targetInsecure(), options.plainHttp(), false, options.pushRetryCount(),
                options.pushRetryDelay());
        try {
            String ref = loc.kind() == ImageLocation.Kind.REGISTRY ? loc.registry().manifestReference()
                    : store.defaultReference();
            Manifest m = store.manifest(ref);
            if (m.isIndex()) {
                m = pick(store, m, platform, spec);
            }
            JsonNode layers = m.json().path("layers");
            Map<String, Long> blobs = new HashMap<>();
            String bootDigest = null;
            long bootSize = -1;
            for (JsonNode l : layers) {
                JsonNode ann = l.path("annotations");
                if ("true".equals(ann.path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())) {
                    bootDigest = l.path("digest").asText();
                    bootSize = l.path("size").asLong(-1);
                } else if (MediaTypes.NYDUS_BLOB.equals(l.path("mediaType").asText())) {
                    blobs.put(l.path("digest").asText(), l.path("size").asLong(-1));
                }
            }
            if (bootDigest == null) {
                throw new IOException("chunk dict " + spec + " is not a nydus image: no layer annotated "
                        + MediaTypes.ANNOTATION_BOOTSTRAP);
            }
            Optional<byte[]> boot;
            try (InputStream in = new VerifyingInputStream(store.openBlob(bootDigest), "bootstrap layer of chunk dict "
                    + spec, bootDigest, bootSize)) {
                boot = BootstrapLayer.extract(in, "chunk dict " + spec);
            }
            Path file = tempDir.resolve("chunk-dict.boot");
            Files.write(file, boot.orElseThrow(() -> new IOException("chunk dict " + spec
                    + ": bootstrap layer has no image/image.boot")));
            return new ChunkDict(file, store, blobs);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private static Manifest pick(ImageStore store, Manifest index, Platform platform, String what) throws IOException {
        for (JsonNode d : index.json().path("manifests")) {
            if (platform.matches(d.path("platform"))) {
                return store.manifest(d.path("digest").asText());
            }
        }
        throw new IOException("chunk dict " + what + " has no manifest for platform " + platform);
    }

    @Override
    public void close() throws IOException {
        if (store != null) {
            store.close();
        }
    }
}
