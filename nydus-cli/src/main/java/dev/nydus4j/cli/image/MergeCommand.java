package dev.nydus4j.cli.image;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.builder.Merger;
import dev.nydus4j.storage.blob.BlobFile;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code nydus-image merge}: overlays layer bootstraps, lowest first, into one bootstrap (API spec 4.2). */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Merge several layer bootstraps (lowest first) into one, applying OCI whiteouts.")
final class MergeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(MergeCommand.class);

    @ParentCommand
    NydusImageCommand parent;

    @Parameters(arity = "1..*", paramLabel = "SOURCE",
            description = "Layer bootstraps, or blobs with inlined metadata, lowest layer first.")
    List<Path> sources;

    @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "Output bootstrap file.")
    Path bootstrap;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR",
            description = "Output directory; the bootstrap is named by its sha256 hex there.")
    Path blobDir;

    @Option(names = "--parent-bootstrap", paramLabel = "FILE", description = "Bootstrap placed below all sources.")
    Path parentBootstrap;

    @Option(names = "--chunk-dict", paramLabel = "bootstrap=PATH", description = "Chunk dictionary bootstrap.")
    String chunkDict;

    @Option(names = "--prefetch-policy", defaultValue = "none", paramLabel = "POLICY",
            description = "fs, blob or none; when not none, reads absolute paths from stdin. Default: ${DEFAULT-VALUE}.")
    PrefetchPolicy prefetchPolicy;

    @Option(names = {"-J", "--output-json"}, paramLabel = "FILE", description = "Write the result JSON here.")
    Path outputJson;

    @Option(names = "--blob-digests", split = ",", paramLabel = "HEX", description = "Per-source blob ids to record.")
    List<String> blobDigests;

    @Option(names = "--original-blob-ids", split = ",", paramLabel = "HEX", description = "Per-source original blob ids.")
    List<String> originalBlobIds;

    @Option(names = "--blob-sizes", split = ",", paramLabel = "SIZE", description = "Per-source blob sizes.")
    List<Long> blobSizes;

    @Option(names = "--blob-toc-digests", split = ",", paramLabel = "HEX", description = "Per-source ToC digests.")
    List<String> blobTocDigests;

    @Option(names = "--blob-toc-sizes", split = ",", paramLabel = "SIZE", description = "Per-source ToC sizes.")
    List<Long> blobTocSizes;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "Config to access blobs (ignored: local files only).")
    Path config;

    @Override
    public Integer call() throws IOException {
        if (bootstrap == null && blobDir == null) {
            throw new IllegalArgumentException("missing output: give --bootstrap or --blob-dir");
        }
        checkCount("--blob-digests", blobDigests);
        checkCount("--original-blob-ids", originalBlobIds);
        checkCount("--blob-sizes", blobSizes);
        checkCount("--blob-toc-digests", blobTocDigests);
        checkCount("--blob-toc-sizes", blobTocSizes);
        Path dict = ChunkDictArgument.parse(chunkDict);
        if (dict != null) {
            LOG.info("--chunk-dict {}: merged chunks already carry their blob references; dictionary not needed", dict);
        }
        List<String> prefetch = prefetchPolicy.readPatterns(parent.stdin());

        List<RafsTree> layers = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        List<byte[]> tocDigests = new ArrayList<>();
        List<Integer> tocSizes = new ArrayList<>();
        int fsVersion = fsVersion();
        if (parentBootstrap != null) {
            layers.add(BootstrapSource.load(parentBootstrap));
            ids.add(null);
            sizes.add(null);
            tocDigests.add(null);
            tocSizes.add(null);
        }
        for (int i = 0; i < sources.size(); i++) {
            Path source = sources.get(i);
            RafsTree layer = BootstrapSource.load(source);
            layers.add(layer);
            // a blob with inlined metadata names itself with a placeholder id: its real id is its sha256 (a blob
            // of a layer without data carries only metadata and is not in its own blob table)
            boolean ownsBlob = layer.blobs.stream().anyMatch(b -> b.blobId().equals(Merger.PLACEHOLDER_BLOB_ID));
            boolean bootstrapFile = BootstrapSource.looksLikeBootstrap(source);
            String inlinedId = bootstrapFile || !ownsBlob ? null : BootstrapSource.blobSha256(source);
            String ownId = inlinedId;
            if (ownId == null && ownsBlob && originalBlobIds != null) {
                ownId = stripAlgorithm(originalBlobIds.get(i));
            }
            if (ownId == null && ownsBlob) {
                // upstream's rule: a layer bootstrap extracted from its blob is named after the blob's digest
                // (nydus-snapshotter's converter writes <workdir>/<layer digest hex> and passes no --blob-digests)
                ownId = idFromFileName(source);
            }
            ids.add(blobDigests != null ? stripAlgorithm(blobDigests.get(i)) : ownId);
            // a blob source also knows its final size and ToC, which its inlined bootstrap could not record
            Long ownSize = null;
            byte[] ownTocDigest = null;
            Integer ownTocSize = null;
            if (inlinedId != null) {
                try (BlobFile bf = BlobFile.open(source)) {
                    ownSize = bf.size();
                    if (bf.toc().isPresent()) {
                        ownTocDigest = bf.tocDigest();
                        ownTocSize = bf.tocSize();
                    }
                }
            }
            sizes.add(blobSizes != null ? blobSizes.get(i) : ownSize); // both Long: no unboxing
            tocDigests.add(blobTocDigests != null ? HexFormat.of().parseHex(stripAlgorithm(blobTocDigests.get(i)))
                    : ownTocDigest);
            tocSizes.add(blobTocSizes != null ? Integer.valueOf(Math.toIntExact(blobTocSizes.get(i))) : ownTocSize);
            if (originalBlobIds != null && blobDigests != null) {
                LOG.debug("original blob id {} of source {} noted (--blob-digests names the blob)",
                        originalBlobIds.get(i), source);
            }
        }
        RafsTree merged;
        try {
            merged = Merger.merge(layers, new Merger.Options(ids, sizes, tocDigests, tocSizes, prefetch));
        } catch (IllegalArgumentException | IllegalStateException e) {
            if (String.valueOf(e.getMessage()).startsWith("inconsistent filesystem")) {
                throw new InconsistentFilesystemException(e.getMessage(), e);
            }
            throw e;
        }
        byte[] bytes = Bootstraps.toBytes(merged, fsVersion);
        Path out = bootstrap != null ? bootstrap : blobDir.resolve(sha256Hex(bytes));
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.write(out, bytes);
        List<String> blobIds = new ArrayList<>();
        for (BlobInfo b : merged.blobs) {
            blobIds.add(b.blobId());
        }
        LOG.info("merged {} layers into {} ({} bytes), blobs {}", layers.size(), out, bytes.length, blobIds);
        if (outputJson != null) {
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("layers", layers.size());
            ResultJson.of(out, blobIds, trace, fsVersion, merged.compressor.configName()).write(outputJson);
        }
        return 0;
    }

    /**
     * The RAFS version of the output: that of the inputs (parent bootstrap and sources), which must all agree, as
     * upstream requires ("inconsistent RAFS version").
     */
    private int fsVersion() throws IOException {
        List<Path> all = new ArrayList<>();
        if (parentBootstrap != null) {
            all.add(parentBootstrap);
        }
        all.addAll(sources);
        Path first = null;
        int version = 0;
        for (Path p : all) {
            if (!Files.isRegularFile(p)) {
                continue; // load() reports the missing file
            }
            int v = BootstrapSource.version(p);
            if (first == null) {
                first = p;
                version = v;
            } else if (v != version) {
                throw new IllegalArgumentException("cannot merge RAFS v" + version + " and v" + v + " bootstraps: "
                        + first + " is v" + version + ", " + p + " is v" + v);
            }
        }
        return first == null ? 6 : version;
    }

    /**
     * The blob id a layer bootstrap's file name gives (upstream's {@code get_blob_id_from_meta_path}: the name
     * without any extension), when that is a sha256 hex digest; null otherwise.
     */
    static String idFromFileName(Path source) {
        String name = source.getFileName() == null ? "" : source.getFileName().toString();
        int dot = name.indexOf('.');
        String stem = dot < 0 ? name : name.substring(0, dot);
        return stem.matches("[0-9a-f]{64}") ? stem : null;
    }

    private void checkCount(String option, List<?> values) {
        if (values != null && values.size() != sources.size()) {
            throw new IllegalArgumentException(option + " has " + values.size() + " entries but there are "
                    + sources.size() + " sources");
        }
    }

    private static String stripAlgorithm(String digest) {
        String d = digest.startsWith("sha256:") ? digest.substring(7) : digest;
        if (!d.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("invalid digest '" + digest + "': expected 64 lowercase hex characters");
        }
        return d;
    }

    static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}
