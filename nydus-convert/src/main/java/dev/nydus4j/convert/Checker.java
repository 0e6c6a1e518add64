package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.check.ImageChecker;
import dev.nydus4j.storage.LocalChunkReader;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;

/**
 * {@code nydusify check}: (1) the target manifest follows the nydus rules and its config matches the source's,
 * (2) the bootstrap passes {@link ImageChecker} with every chunk of every blob verified, (3) every file of the
 * converted image equals the source image's root file system. Problems are collected, not thrown, so that one
 * run reports all of them; the CLI exits non-zero when there is any.
 */
public final class Checker {
    private static final int SHOWN_DIFFS = 100;

    private final CheckOptions options;
    private final PrintWriter out;
    private final List<String> problems = new ArrayList<>();
    /** The target registry talks plain http (configured or found on the first request). */
    private boolean targetPlainHttp;

    public Checker(CheckOptions options, PrintWriter out) {
        this.options = options;
        this.out = out;
    }

    /** Runs every check; returns the problems found (empty: the image is good). */
    public List<String> check() throws IOException {
        Files.createDirectories(options.workDir());
        try (ImageStore dst = options.target().open(options.targetInsecure(), options.plainHttp(), false, 0,
                Duration.ZERO)) {
            Manifest nydus = nydusManifest(dst);
            targetPlainHttp = options.plainHttp() || dst instanceof RegistryStore r && r.usesPlainHttp();
            Files.write(options.workDir().resolve("nydus_manifest.json"), nydus.bytes());
            ObjectNode manifest = nydus.json();
            JsonNode config = readJson(dst, manifest.path("config"), "nydus config");
            Files.write(options.workDir().resolve("nydus_config.json"), Manifest.toBytes(config));
            checkManifestRules(manifest, config);
            JsonNode layers = manifest.path("layers");
            if (layers.isEmpty()) {
                problems.add("manifest " + nydus.digest() + " has no layers");
                return report();
            }
            Path bootstrap = options.workDir().resolve("nydus_bootstrap");
            JsonNode bootDesc = layers.get(layers.size() - 1);
            try (InputStream in = new VerifyingInputStream(dst.openBlob(bootDesc.path("digest").asText()),
                    "bootstrap layer " + bootDesc.path("digest").asText(), bootDesc.path("digest").asText(),
                    bootDesc.path("size").asLong(-1))) {
                byte[] boot = BootstrapLayer.extract(in, "bootstrap layer").orElse(null);
                if (boot == null) {
                    problems.add("bootstrap layer " + bootDesc.path("digest").asText() + " has no image/image.boot");
                    return report();
                }
                Files.write(bootstrap, boot);
            }
            Path blobs = blobDirectory(dst, layers, bootstrap);
            checkBootstrap(bootstrap, blobs);
            if (options.source() != null) {
                compareWithSource(config, bootstrap, blobs);
            }
        }
        return report();
    }

    private List<String> report() {
        if (problems.isEmpty()) {
            out.println("[nydusify check] OK: " + options.target() + " is a valid nydus image"
                    + (options.source() != null ? " equal to " + options.source() : ""));
        } else {
            out.println("[nydusify check] FAILED: " + problems.size() + " problem(s) in " + options.target());
            problems.stream().limit(SHOWN_DIFFS).forEach(p -> out.println("  " + p));
            if (problems.size() > SHOWN_DIFFS) {
                out.println("  ... and " + (problems.size() - SHOWN_DIFFS) + " more");
            }
        }
        out.flush();
        return List.copyOf(problems);
    }

    private Manifest nydusManifest(ImageStore dst) throws IOException {
        Manifest top = dst.manifest(reference(options.target(), dst));
        if (!top.isIndex()) {
            if (options.multiPlatform()) {
                problems.add("--multi-platform: " + options.target() + " is a single manifest, not an index");
            }
            return top;
        }
        JsonNode nydusEntry = null;
        JsonNode plainEntry = null;
        for (JsonNode d : top.json().path("manifests")) {
            if (!options.platform().matches(d.path("platform"))) {
                continue;
            }
            boolean isNydus = Mounter.isNydusEntry(d);
            if (isNydus) {
                nydusEntry = d;
            } else {
                plainEntry = d;
            }
        }
        if (options.multiPlatform() && (nydusEntry == null || plainEntry == null)) {
            problems.add("--multi-platform: index of " + options.target() + " should hold both an OCI and a nydus"
                    + " manifest for " + options.platform() + " (OCI: " + (plainEntry != null) + ", nydus: "
                    + (nydusEntry != null) + ")");
        }
        JsonNode chosen = nydusEntry != null ? nydusEntry : plainEntry;
        if (chosen == null) {
            throw new IOException(options.target() + " has no manifest for platform " + options.platform());
        }
        return dst.manifest(chosen.path("digest").asText());
    }

    private static String reference(ImageLocation loc, ImageStore store) {
        return loc.kind() == ImageLocation.Kind.REGISTRY ? loc.registry().manifestReference()
                : store.defaultReference();
    }

    private void checkManifestRules(ObjectNode manifest, JsonNode config) {
        JsonNode layers = manifest.path("layers");
        int n = layers.size();
        for (int i = 0; i < n; i++) {
            JsonNode l = layers.get(i);
            String d = l.path("digest").asText();
            if (i < n - 1) {
                if (!MediaTypes.NYDUS_BLOB.equals(l.path("mediaType").asText())) {
                    problems.add("layer " + i + " " + d + ": media type " + l.path("mediaType").asText()
                            + ", expected " + MediaTypes.NYDUS_BLOB);
                }
                if (!"true".equals(l.path("annotations").path(MediaTypes.ANNOTATION_BLOB).asText())) {
                    problems.add("layer " + i + " " + d + ": missing annotation " + MediaTypes.ANNOTATION_BLOB
                            + "=true");
                }
            } else if (!"true".equals(l.path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())) {
                problems.add("last layer " + d + ": missing annotation " + MediaTypes.ANNOTATION_BOOTSTRAP + "=true");
            }
        }
        int diffIds = config.path("rootfs").path("diff_ids").size();
        if (diffIds != n) {
            problems.add("config has " + diffIds + " rootfs.diff_ids but the manifest has " + n + " layers");
        }
    }

    private JsonNode readJson(ImageStore store, JsonNode desc, String what) throws IOException {
        String digest = desc.path("digest").asText();
        try (InputStream in = new VerifyingInputStream(store.openBlob(digest), what + " " + digest, digest,
                desc.path("size").asLong(-1))) {
            byte[] bytes = in.readNBytes(16 << 20);
            if (in.read() >= 0) {
                throw new IOException(what + " " + digest + " is larger than 16 MiB");
            }
            return Manifest.JSON.readTree(bytes);
        }
    }

    /** Directory with every blob the bootstrap needs, named by hex id: a layout's blob dir, localfs, or a download. */
    private Path blobDirectory(ImageStore dst, JsonNode layers, Path bootstrap) throws IOException {
        if (options.blobDir() != null) {
            return options.blobDir();
        }
        if (options.backend() != null) {
            return downloadFromBackend(bootstrap);
        }
        if (dst instanceof OciLayoutStore layout) {
            return layout.blobDirectory();
        }
        if (layers.size() == 1) {
            int blobs = dev.nydus4j.rafs.Bootstraps.read(bootstrap).blobs.size();
            if (blobs > 0) {
                // converted with --backend-type: the manifest carries only the bootstrap
                throw new IOException("the image's manifest holds only the bootstrap layer: its " + blobs
                        + " blob(s) are kept in an oss/s3/localfs backend; give --target-backend-type and"
                        + " --target-backend-config (or --target-backend-config-file) to check them");
            }
        }
        Path dir = Files.createDirectories(options.workDir().resolve("blobs"));
        for (int i = 0; i < layers.size() - 1; i++) {
            JsonNode l = layers.get(i);
            String digest = l.path("digest").asText();
            Path file = dir.resolve(digest.substring(digest.indexOf(':') + 1));
            if (Files.isRegularFile(file) && Files.size(file) == l.path("size").asLong(-1)) {
                continue;
            }
            try (InputStream in = new VerifyingInputStream(dst.openBlob(digest), "nydus blob " + digest, digest,
                    l.path("size").asLong(-1));
                 OutputStream o = Files.newOutputStream(file)) {
                in.transferTo(o);
            } catch (IOException e) {
                Files.deleteIfExists(file);
                problems.add("nydus blob " + digest + ": " + e.getMessage());
            }
        }
        return dir;
    }

    /** Every blob of the bootstrap's blob table, read from the oss/s3 backend and verified against its id. */
    private Path downloadFromBackend(Path bootstrap) throws IOException {
        Path dir = Files.createDirectories(options.workDir().resolve("blobs"));
        for (dev.nydus4j.storage.blob.BlobInfo b : dev.nydus4j.rafs.Bootstraps.read(bootstrap).blobs) {
            String hex = b.blobId();
            Path file = dir.resolve(hex);
            try (dev.nydus4j.spi.BlobBackend blob = options.backend().open(hex);
                 var out = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                         java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                long size = blob.size();
                var md = Manifest.sha256Digest();
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 20);
                for (long pos = 0; pos < size; ) {
                    buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
                    blob.read(buf, pos);
                    buf.flip();
                    md.update(buf.duplicate());
                    pos += out.write(buf);
                }
                String actual = java.util.HexFormat.of().formatHex(md.digest());
                if (!actual.equals(hex)) {
                    problems.add("blob " + hex + " in " + options.backend().describe() + " has sha256 " + actual);
                }
            } catch (IOException e) {
                Files.deleteIfExists(file);
                problems.add("blob " + hex + " from " + options.backend().describe() + ": " + e.getMessage());
            }
        }
        out.println("[nydusify check] read the blobs from " + options.backend().describe());
        return dir;
    }

    private void checkBootstrap(Path bootstrap, Path blobs) {
        try {
            ImageChecker.Report r = ImageChecker.check(bootstrap, blobs);
            Set<String> ids = new HashSet<>();
            r.blobs().forEach(b -> ids.add(b.blobId()));
            out.print(r.toText());
            Files.writeString(options.workDir().resolve("nydus_bootstrap_debug.json"),
                    Manifest.JSON.writeValueAsString(java.util.Map.of("version", r.version(), "inodes", r.inodes(),
                            "blobs", ids, "chunks_verified", r.chunksVerified())));
        } catch (IOException | RuntimeException e) {
            problems.add("bootstrap check failed: " + e.getMessage());
        }
    }

    private void compareWithSource(JsonNode nydusConfig, Path bootstrap, Path blobs) throws IOException {
        try (ImageStore src = options.source().open(options.sourceInsecure(), options.plainHttp(), false, 0,
                Duration.ZERO)) {
            Manifest m = src.manifest(reference(options.source(), src));
            if (m.isIndex()) {
                JsonNode match = null;
                for (JsonNode d : m.json().path("manifests")) {
                    if (options.platform().matches(d.path("platform"))) {
                        match = d;
                    }
                }
                if (match == null) {
                    throw new IOException(options.source() + " has no manifest for platform " + options.platform());
                }
                m = src.manifest(match.path("digest").asText());
            }
            Files.write(options.workDir().resolve("oci_manifest.json"), m.bytes());
            ObjectNode manifest = m.json();
            JsonNode config = readJson(src, manifest.path("config"), "source config");
            Files.write(options.workDir().resolve("oci_config.json"), Manifest.toBytes(config));
            JsonNode a = stripArgsEscaped(config.path("config"));
            JsonNode b = stripArgsEscaped(nydusConfig.path("config"));
            if (!a.equals(b)) {
                problems.add("config.config differs from the source's: source " + a + ", nydus " + b);
            }
            SourceRootfs rootfs = new SourceRootfs();
            JsonNode layers = manifest.path("layers");
            for (int i = 0; i < layers.size(); i++) {
                JsonNode l = layers.get(i);
                String digest = l.path("digest").asText();
                String what = "source layer " + (i + 1) + "/" + layers.size() + " " + digest;
                try (InputStream in = new VerifyingInputStream(src.openBlob(digest), what, digest,
                        l.path("size").asLong(-1))) {
                    rootfs.apply(new java.io.BufferedInputStream(in, 1 << 16), i, what);
                }
            }
            SortedMap<String, FsEntry> expected = rootfs.entries();
            SortedMap<String, FsEntry> actual = readImage(bootstrap, blobs);
            List<String> diffs = TreeDiff.diff(expected, actual);
            out.println("[nydusify check] compared " + expected.size() + " source paths with " + actual.size()
                    + " image paths: " + diffs.size() + " difference(s)");
            problems.addAll(diffs);
        }
    }

    private SortedMap<String, FsEntry> readImage(Path bootstrap, Path blobs) throws IOException {
        if (options.nydusd() != null) {
            Path config = options.workDir().resolve("nydusd-config.json");
            Files.writeString(config, NydusdConfigJson.localfs(blobs,
                    Files.createDirectories(options.workDir().resolve("cache"))));
            Path mp = Files.createDirectories(options.workDir().resolve("mnt"));
            try (ExternalNydusd d = ExternalNydusd.start(options.nydusd(), bootstrap, config, mp, options.workDir())) {
                out.println("[nydusify check] reading the image through " + options.nydusd() + " mounted at "
                        + d.mountpoint() + (ImageTree.mountXattrsCompared() ? "" : " (xattrs not compared)"));
                return ImageTree.of(d.mountpoint());
            }
        }
        if (options.mount()) {
            Path cache = Files.createDirectories(options.workDir().resolve("cache"));
            ImageLocation t = options.target();
            // from a registry the daemon fetches blobs lazily itself, as a runtime would
            String config = options.backend() != null
                    ? NydusdConfigJson.of(options.backend().type(), options.backend().config(), cache)
                    : t.kind() == ImageLocation.Kind.REGISTRY && options.blobDir() == null
                    ? NydusdConfigJson.registry(t.registry().host(), t.registry().repository(),
                    options.targetInsecure(), targetPlainHttp, cache)
                    : NydusdConfigJson.localfs(blobs, cache);
            Path mp = Files.createDirectories(options.workDir().resolve("mnt"));
            try (InProcessMount d = InProcessMount.start(bootstrap, config, mp)) {
                out.println("[nydusify check] reading the image through the in-process nydusd mounted at "
                        + d.mountpoint() + (options.backend() != null ? " with the " + options.backend().type()
                        + " backend" : t.kind() == ImageLocation.Kind.REGISTRY && options.blobDir() == null
                        ? " with the registry backend" : "")
                        + (ImageTree.mountXattrsCompared() ? "" : " (xattrs not compared)"));
                return ImageTree.of(d.mountpoint());
            }
        }
        try (RafsImage image = RafsImage.open(bootstrap, LocalChunkReader.forDirectory(blobs))) {
            return ImageTree.of(image);
        }
    }

    private static JsonNode stripArgsEscaped(JsonNode n) {
        if (n instanceof ObjectNode o) {
            ObjectNode c = o.deepCopy();
            c.remove("ArgsEscaped");
            return c;
        }
        return n;
    }
}
