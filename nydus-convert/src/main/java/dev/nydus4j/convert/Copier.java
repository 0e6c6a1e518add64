package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * {@code nydusify copy} (API spec 5): copies an image, nydus or not, from one location to another as upstream's
 * copier does: every selected manifest with its config and layers (nydus blobs and the bootstrap layer included) is
 * pushed unchanged, so digests stay the same. A manifest is pushed under the target's tag; an index keeps its form
 * but lists only the manifests of the selected platforms ({@code --platform}, default the host's; all with
 * {@code --all-platforms}).
 */
public final class Copier {
    /**
     * @param source         image to copy
     * @param target         where to put it
     * @param sourceInsecure skip TLS verification of the source registry
     * @param targetInsecure skip TLS verification of the target registry
     * @param plainHttp      plain http to both registries from the start
     * @param allPlatforms   copy every manifest of an index
     * @param platforms      the platforms to copy from an index when not all
     * @param workDir        receives temporary blob files (created when missing; what this run created is removed)
     * @param pushRetries    retries of a failed push (5xx or I/O)
     * @param retryDelay     pause between push attempts
     */
    public record Options(ImageLocation source, ImageLocation target, boolean sourceInsecure, boolean targetInsecure,
                          boolean plainHttp, boolean allPlatforms, List<Platform> platforms, Path workDir,
                          int pushRetries, Duration retryDelay) {
        public Options {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(platforms, "platforms");
            Objects.requireNonNull(workDir, "workDir");
        }
    }

    private final Options opt;
    private final PrintWriter out;
    private final ConvertMetrics metrics = new ConvertMetrics();

    public Copier(Options opt, PrintWriter out) {
        this.opt = opt;
        this.out = out;
    }

    /** Copies; returns the digest of the manifest or index pushed under the target reference. */
    public String copy() throws IOException {
        try (ScratchDir scratch = ScratchDir.create(opt.workDir(), "nydusify-copy-");
             ImageStore from = opt.source().open(opt.sourceInsecure(), opt.plainHttp(), false, 0, opt.retryDelay());
             ImageStore to = opt.target().open(opt.targetInsecure(), opt.plainHttp(), true, opt.pushRetries(),
                     opt.retryDelay())) {
            BlobTransfer transfer = new BlobTransfer(to, scratch.path(), metrics);
            Manifest top = from.manifest(from.defaultReference());
            String pushed;
            if (top.isIndex()) {
                pushed = copyIndex(from, to, transfer, top);
            } else {
                copyManifest(from, to, transfer, top);
                to.pushManifest(to.defaultReference(), top);
                pushed = top.digest();
            }
            out.println("copied " + opt.source() + " to " + opt.target() + " (" + pushed + "; "
                    + metrics.blobsPushed.get() + " blobs pushed, " + metrics.pushedBytes.get() + " bytes; "
                    + metrics.blobsMounted.get() + " mounted, " + metrics.blobsSkipped.get() + " already present)");
            out.flush();
            return pushed;
        }
    }

    private String copyIndex(ImageStore from, ImageStore to, BlobTransfer transfer, Manifest index) throws IOException {
        ObjectNode json = index.json();
        ArrayNode kept = Manifest.JSON.createArrayNode();
        List<String> seen = new ArrayList<>();
        for (JsonNode d : json.path("manifests")) {
            JsonNode platform = d.path("platform");
            seen.add(Platform.describe(platform));
            if (!opt.allPlatforms() && opt.platforms().stream().noneMatch(p -> p.matches(platform))) {
                continue;
            }
            String digest = d.path("digest").asText();
            Manifest child = from.manifest(digest);
            if (!digest.equals(child.digest())) {
                throw new IOException("manifest " + digest + " of " + from.describe() + " hashes to " + child.digest());
            }
            if (child.isIndex()) {
                throw new IOException("nested index " + digest + " in " + from.describe() + " cannot be copied");
            }
            copyManifest(from, to, transfer, child);
            to.pushManifest(digest, child);
            kept.add(d);
        }
        if (kept.isEmpty()) {
            throw new IOException("no manifest for platform " + opt.platforms() + " in " + opt.source()
                    + " (it has " + String.join(", ", seen) + ")");
        }
        Manifest target = index;
        if (kept.size() != json.path("manifests").size()) {
            json.set("manifests", kept);
            target = Manifest.of(json, index.mediaType());
        }
        to.pushManifest(to.defaultReference(), target);
        return target.digest();
    }

    /** Config and every layer of one manifest into the target (the manifest itself is pushed by the caller). */
    private void copyManifest(ImageStore from, ImageStore to, BlobTransfer transfer, Manifest manifest)
            throws IOException {
        if (!MediaTypes.isManifest(manifest.mediaType())) {
            throw new IOException("cannot copy " + manifest.digest() + " of " + from.describe() + ": media type '"
                    + manifest.mediaType() + "' is not an OCI or Docker v2 image manifest");
        }
        ObjectNode json = manifest.json();
        List<JsonNode> blobs = new ArrayList<>();
        blobs.add(json.path("config"));
        json.path("layers").forEach(blobs::add);
        for (JsonNode d : blobs) {
            String digest = d.path("digest").asText("");
            if (digest.isEmpty()) {
                throw new IOException("manifest " + manifest.digest() + " of " + from.describe()
                        + " has a descriptor without a digest");
            }
            transfer.copy(from, digest, d.path("size").asLong(-1));
        }
    }
}
