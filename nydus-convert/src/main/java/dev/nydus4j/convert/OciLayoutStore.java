package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * An OCI image layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/<hex>}); tags are the
 * {@code org.opencontainers.image.ref.name} annotations of {@code index.json} entries, as skopeo and umoci write
 * them. Writes are atomic per file; index updates are serialized.
 */
final class OciLayoutStore implements ImageStore {
    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final long MANIFEST_LIMIT_BYTES = 4 << 20;

    private final Path dir;
    private final String tag;

    private OciLayoutStore(Path dir, String tag) {
        this.dir = dir;
        this.tag = tag;
    }

    /** Opens an existing layout, or creates an empty one when {@code create}. */
    static OciLayoutStore open(Path dir, String tag, boolean create) throws IOException {
        if (!Files.isRegularFile(dir.resolve("oci-layout"))) {
            if (!create) {
                throw new NoSuchFileException(dir.toString(), null, "not an OCI image layout (no oci-layout file)");
            }
            Files.createDirectories(dir.resolve("blobs/sha256"));
            Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
            Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[]}");
        }
        return new OciLayoutStore(dir, tag);
    }

    @Override
    public String describe() {
        return "oci:" + dir;
    }

    @Override
    public String defaultReference() {
        return tag == null ? "" : tag;
    }

    @Override
    public Manifest manifest(String reference) throws IOException {
        if (DIGEST.matcher(reference).matches()) {
            byte[] bytes = readBlob(reference);
            return new Manifest(bytes, null, reference);
        }
        ArrayNode entries = entries(readIndex());
        JsonNode match = null;
        for (JsonNode d : entries) {
            String name = d.path("annotations").path(MediaTypes.ANNOTATION_REF_NAME).asText("");
            if (name.equals(reference) || (reference.isEmpty() && entries.size() == 1)) {
                match = d;
            }
        }
        if (match == null) {
            throw new NoSuchFileException(describe() + ":" + reference, null, "no image with this tag in index.json");
        }
        String digest = match.path("digest").asText();
        return new Manifest(readBlob(digest), match.path("mediaType").asText(""), digest);
    }

    private byte[] readBlob(String digest) throws IOException {
        Path p = blobPath(digest);
        if (Files.size(p) > MANIFEST_LIMIT_BYTES) {
            throw new IOException(describe() + ": manifest " + digest + " is larger than " + MANIFEST_LIMIT_BYTES);
        }
        byte[] bytes = Files.readAllBytes(p);
        String actual = Manifest.sha256(bytes);
        if (!actual.equals(digest)) {
            throw new IOException(describe() + ": blob " + digest + " digest mismatch: actual " + actual);
        }
        return bytes;
    }

    private Path blobPath(String digest) {
        if (!DIGEST.matcher(digest).matches()) {
            throw new IllegalArgumentException("expected a digest sha256:<64 lowercase hex>, got '" + digest + "'");
        }
        return dir.resolve("blobs/sha256").resolve(digest.substring(7));
    }

    /** Directory holding blobs by hex name (what a local chunk reader needs). */
    Path blobDirectory() {
        return dir.resolve("blobs/sha256");
    }

    @Override
    public InputStream openBlob(String digest) throws IOException {
        Path p = blobPath(digest);
        if (!Files.isRegularFile(p)) {
            throw new NoSuchFileException(p.toString(), null, "blob " + digest + " missing from " + describe());
        }
        return Files.newInputStream(p);
    }

    @Override
    public OptionalLong blobSize(String digest) throws IOException {
        Path p = blobPath(digest);
        return Files.isRegularFile(p) ? OptionalLong.of(Files.size(p)) : OptionalLong.empty();
    }

    @Override
    public boolean pushBlob(String digest, Path file) throws IOException {
        return publish(digest, tmp -> Files.copy(file, tmp, StandardCopyOption.REPLACE_EXISTING));
    }

    @Override
    public boolean pushBlob(String digest, byte[] bytes) throws IOException {
        return publish(digest, tmp -> Files.write(tmp, bytes));
    }

    private interface BlobWrite {
        void to(Path tmp) throws IOException;
    }

    /** Writes a blob the layout lacks to a temporary file beside it and renames it in; false when present. */
    private boolean publish(String digest, BlobWrite write) throws IOException {
        Path p = blobPath(digest);
        if (Files.isRegularFile(p)) {
            return false;
        }
        Files.createDirectories(p.getParent());
        Path tmp = Files.createTempFile(p.getParent(), ".push-", ".tmp");
        try {
            write.to(tmp);
            Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return true;
    }

    @Override
    public synchronized void pushManifest(String reference, Manifest manifest) throws IOException {
        pushBlob(manifest.digest(), manifest.bytes());
        if (DIGEST.matcher(reference).matches()) {
            return;
        }
        ObjectNode index = readIndex();
        ArrayNode entries = entries(index);
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (reference.equals(entries.get(i).path("annotations").path(MediaTypes.ANNOTATION_REF_NAME).asText())) {
                entries.remove(i);
            }
        }
        ObjectNode d = entries.addObject();
        d.put("mediaType", manifest.mediaType());
        d.put("digest", manifest.digest());
        d.put("size", manifest.bytes().length);
        d.putObject("annotations").put(MediaTypes.ANNOTATION_REF_NAME, reference);
        Path tmp = Files.createTempFile(dir, ".index-", ".tmp");
        Files.write(tmp, Manifest.toBytes(index));
        Files.move(tmp, dir.resolve("index.json"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    private ObjectNode readIndex() throws IOException {
        JsonNode n = Manifest.JSON.readTree(dir.resolve("index.json").toFile());
        if (n == null || !n.isObject()) {
            throw new IOException(describe() + ": index.json is not a JSON object");
        }
        return (ObjectNode) n;
    }

    private ArrayNode entries(ObjectNode index) throws IOException {
        JsonNode m = index.get("manifests");
        if (m == null) {
            return index.putArray("manifests");
        }
        if (!m.isArray()) {
            throw new IOException(describe() + ": index.json 'manifests' is not an array");
        }
        return (ArrayNode) m;
    }

    @Override
    public void close() {
        // nothing held open
    }
}
