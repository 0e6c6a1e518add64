package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An OCI image layout packed in a tar file ({@code --source-archive}, skopeo's {@code oci-archive:}), read-only and
 * without unpacking: the tar is indexed once and blobs are streamed with positional reads of their entry, so layers
 * can be converted in parallel. Images are selected by the {@code org.opencontainers.image.ref.name} of the
 * {@code index.json} entries (the tag, or the whole reference as containerd writes it); an archive holding a
 * single image needs no name.
 */
final class OciArchiveStore extends TarArchiveStore {
    private static final Pattern BLOB = Pattern.compile("blobs/sha256/([0-9a-f]{64})");
    private final JsonNode index;

    private OciArchiveStore(Path file, String tag) throws IOException {
        super(file, tag);
        TarSlice indexSlice = null;
        boolean layout = false;
        try (TarFile tar = new TarFile(file)) {
            for (TarArchiveEntry e : tar.getEntries()) {
                if (!e.isFile()) {
                    continue;
                }
                String name = entryName(e.getName());
                TarSlice s = new TarSlice(e.getDataOffset(), e.getSize());
                var m = BLOB.matcher(name);
                if (m.matches()) {
                    blobs.put("sha256:" + m.group(1), s);
                } else if (name.equals("index.json")) {
                    indexSlice = s;
                } else if (name.equals("oci-layout")) {
                    layout = true;
                }
            }
        } catch (IOException e) {
            throw new IOException(describe() + ": cannot read the tar: " + e.getMessage(), e);
        }
        if (!layout || indexSlice == null) {
            throw new IOException(describe() + ": not an OCI layout archive (oci-layout and index.json expected at"
                    + " the top of the tar)");
        }
        JsonNode n = Manifest.JSON.readTree(readSmall(indexSlice, "index.json"));
        if (n == null || !n.path("manifests").isArray()) {
            throw new IOException(describe() + ": index.json has no 'manifests' array");
        }
        this.index = n;
    }

    /** @param tag the image to select (a tag or a full reference), or null for the only image */
    static OciArchiveStore open(Path file, String tag) throws IOException {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "OCI archive file not found");
        }
        return new OciArchiveStore(file, tag);
    }

    @Override
    public String describe() {
        return "oci-archive:" + file;
    }

    @Override
    public Manifest manifest(String reference) throws IOException {
        if (reference.startsWith("sha256:")) {
            return new Manifest(readBlob(reference), null, reference);
        }
        List<JsonNode> entries = new ArrayList<>();
        index.path("manifests").forEach(entries::add);
        JsonNode match = null;
        List<String> names = new ArrayList<>();
        for (JsonNode d : entries) {
            String name = d.path("annotations").path(MediaTypes.ANNOTATION_REF_NAME).asText("");
            names.add(name.isEmpty() ? d.path("digest").asText() : name);
            if (!reference.isEmpty() && !name.isEmpty() && (name.equals(reference)
                    || reference.endsWith(":" + name) || name.endsWith(":" + reference))) {
                match = d;
            }
        }
        if (match == null && entries.size() == 1) {
            match = entries.get(0); // a single image is taken whatever the source reference names
        }
        if (match == null) {
            throw new NoSuchFileException(describe() + ":" + reference, null, "no image with this name in index.json"
                    + " (images: " + names + ")");
        }
        String digest = match.path("digest").asText();
        return new Manifest(readBlob(digest), match.path("mediaType").asText(""), digest);
    }

    private byte[] readBlob(String digest) throws IOException {
        TarSlice s = blobs.get(digest);
        if (s == null) {
            throw new NoSuchFileException(describe(), null, "blob " + digest + " missing from the archive");
        }
        byte[] bytes = readSmall(s, digest);
        String actual = Manifest.sha256(bytes);
        if (!actual.equals(digest)) {
            throw new IOException(describe() + ": blob " + digest + " digest mismatch: actual " + actual);
        }
        return bytes;
    }

    @Override
    protected String readOnlyHint() {
        return "is opened as a source; write archives with --target-archive";
    }
}
