package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.builder.BuildOptions;
import dev.nydus4j.rafs.builder.HashPool;
import dev.nydus4j.rafs.builder.SourceType;
import dev.nydus4j.rafs.builder.WhiteoutSpec;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * {@code nydusify convert}: reads an OCI/Docker image (manifest or index), converts each layer into a nydus blob
 * (in parallel on a bounded pool), merges the layer bootstraps into one, and writes blobs, the bootstrap layer,
 * the rewritten config and the manifest (or index) to the target (API spec 6). Blobs and configs go first and
 * the tagged manifest last, so a failed conversion leaves no manifest in the target. Not thread-safe; one
 * instance per conversion.
 */
public final class Converter {
    private static final Logger LOG = LoggerFactory.getLogger(Converter.class);
    static final String BUILDER_VERSION = "nydus4j " + Objects.requireNonNullElse(
            Converter.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT");

    /** What the builder says about a tar hard link to a file of a lower layer. */
    private static final String LINK_INTO_LOWER_LAYER = "a link into a lower layer needs the parent bootstrap";

    /** Threads digesting and compressing chunks, shared by all layers of a conversion: one per core. */
    private static final int HASH_THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private final ConvertOptions options;
    private final PrintWriter progress;
    private final ConvertMetrics metrics = new ConvertMetrics();

    /** @param progress receives one line per step (stderr in the CLI) */
    public Converter(ConvertOptions options, PrintWriter progress) {
        this.options = Objects.requireNonNull(options, "options is null");
        this.progress = Objects.requireNonNull(progress, "progress is null");
    }

    /** What the builder-version annotation records, e.g. {@code nydus4j 0.1.0-SNAPSHOT}. */
    public static String builderVersion() {
        return BUILDER_VERSION;
    }

    public ConvertMetrics metrics() {
        return metrics;
    }

    /** Converts {@code source} into {@code target}; returns the digest of what was pushed under the target tag. */
    public String convert(ImageLocation source, ImageLocation target) throws IOException {
        ScratchDir scratch = ScratchDir.create(options.workDir(), "nydusify-");
        Path run = scratch.path();
        ExecutorService pool = Executors.newFixedThreadPool(options.parallelism(), namedThreads());
        // chunk digests and compression of all layers share a thread per core: while a big layer is still converting
        // after the small ones ended, its chunks keep every core busy (a fixed per-layer share would leave the cores
        // of finished layers idle)
        HashPool hashPool = new HashPool(HASH_THREADS, "nydusify");
        try (ImageStore src = source.open(options.sourceInsecure(), options.plainHttp(), false,
                options.pushRetryCount(), options.pushRetryDelay());
             ImageStore dst = target.open(options.targetInsecure(), options.plainHttp(), true,
                     options.pushRetryCount(), options.pushRetryDelay());
             ChunkDict dict = options.chunkDict() == null ? null : ChunkDict.resolve(options.chunkDict(), options,
                     options.platforms().isEmpty() ? Platform.host() : options.platforms().get(0), run)) {
            Run r = new Run(source, src, dst, dict, run, pool, hashPool);
            String tag = targetTag(target, dst);
            return r.convertTop(tag);
        } finally {
            pool.shutdownNow();
            hashPool.close();
            scratch.close();
        }
    }

    private static String targetTag(ImageLocation target, ImageStore dst) {
        if (target.kind() == ImageLocation.Kind.REGISTRY) {
            return target.registry().manifestReference();
        }
        return dst.defaultReference().isEmpty() ? "latest" : dst.defaultReference();
    }

    private static java.util.concurrent.ThreadFactory namedThreads() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "nydusify-layer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warn("cannot remove {}: {}", p, e.getMessage());
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", dir, e.getMessage());
        }
    }

    /** One conversion's state. */
    private final class Run {
        private final ImageLocation sourceLocation;
        private final ImageStore src;
        private final ImageStore dst;
        private final ChunkDict dict;
        private final Path tmp;
        private final ExecutorService pool;
        private final HashPool hashPool;
        private final BlobTransfer transfer;

        Run(ImageLocation sourceLocation, ImageStore src, ImageStore dst, ChunkDict dict, Path tmp,
            ExecutorService pool, HashPool hashPool) {
            this.hashPool = hashPool;
            this.sourceLocation = sourceLocation;
            this.src = src;
            this.dst = dst;
            this.dict = dict;
            this.tmp = tmp;
            this.pool = pool;
            this.transfer = new BlobTransfer(dst, tmp, metrics);
        }

        /**
         * Whether blobs are uploaded while they are built: to a registry, when the target tag does not exist yet. A
         * blob's digest is only known at the end, so a re-conversion (whose blobs the registry mostly has) pushes
         * from the file after a HEAD instead, and sends no blob bytes again.
         */
        private boolean streamBlobs;

        String convertTop(String tag) throws IOException {
            // the target's tag is looked up while the source manifest is fetched: each is a round trip, the first
            // one to a registry also a TLS probe (~50 ms of a conversion's start otherwise spent waiting)
            java.util.concurrent.FutureTask<Boolean> tagAbsent = null;
            if (options.backend() == null && dst instanceof RegistryStore) {
                tagAbsent = new java.util.concurrent.FutureTask<>(() -> {
                    try {
                        dst.manifest(tag);
                        return false;
                    } catch (java.nio.file.NoSuchFileException e) {
                        return true;
                    }
                });
                Thread lookup = new Thread(tagAbsent, "nydusify-target-tag");
                lookup.setDaemon(true);
                lookup.start();
            }
            String ref = sourceLocation.kind() == ImageLocation.Kind.REGISTRY
                    ? sourceLocation.registry().manifestReference() : src.defaultReference();
            Manifest top;
            long pull0 = System.nanoTime();
            try {
                top = src.manifest(ref);
            } catch (IOException | RuntimeException e) {
                if (tagAbsent != null) {
                    tagAbsent.cancel(true); // the source's error is the one to report
                }
                throw e;
            }
            if (tagAbsent != null) {
                streamBlobs = Await.result(tagAbsent, "the target tag lookup"); // auth, TLS or 5xx errors as thrown
            }
            metrics.sourceDigest = top.digest();
            metrics.pullNanos.addAndGet(System.nanoTime() - pull0);
            progress.printf("[nydusify] source %s (%s, %s)%n", sourceLocation, top.mediaType(), top.digest());
            progress.flush();
            Manifest result;
            if (top.isIndex()) {
                result = convertIndex(top);
            } else if (MediaTypes.isManifest(top.mediaType())) {
                Manifest nydus = convertManifest(top, null);
                result = options.mergePlatform() ? mergedIndex(List.of(entry(top, platformOf(top))),
                        List.of(entry(nydus, platformOf(top)))) : nydus;
            } else {
                throw new IOException("source " + sourceLocation + " has unsupported manifest media type '"
                        + top.mediaType() + "'");
            }
            long push0 = System.nanoTime();
            dst.pushManifest(tag, result);
            metrics.pushNanos.addAndGet(System.nanoTime() - push0);
            metrics.targetDigest = result.digest();
            LOG.info("converted {} ({}) to {}:{} ({})", sourceLocation, top.digest(), dst.describe(), tag,
                    result.digest());
            progress.printf("[nydusify] pushed %s %s to %s:%s (%d blobs pushed, %d bytes; %d already present)%n",
                    result.mediaType(), result.digest(), dst.describe(), tag, metrics.blobsPushed.get(),
                    metrics.pushedBytes.get(), metrics.blobsSkipped.get());
            progress.flush();
            return result.digest();
        }

        private Manifest convertIndex(Manifest index) throws IOException {
            List<ObjectNode> sources = new ArrayList<>();
            List<ObjectNode> nydus = new ArrayList<>();
            Set<String> found = new LinkedHashSet<>();
            for (JsonNode d : index.json().path("manifests")) {
                JsonNode platform = d.path("platform");
                boolean wanted = options.allPlatforms() ? !"unknown".equals(platform.path("os").asText())
                        : options.platforms().stream().anyMatch(p -> p.matches(platform));
                found.add(Platform.describe(platform));
                if (!wanted || !MediaTypes.isManifest(d.path("mediaType").asText(MediaTypes.OCI_MANIFEST))) {
                    continue;
                }
                Manifest child = src.manifest(d.path("digest").asText());
                progress.printf("[nydusify] platform %s: manifest %s%n", Platform.describe(platform), child.digest());
                Manifest converted = convertManifest(child, platform);
                sources.add(entry(child, platform));
                nydus.add(entry(converted, platform));
            }
            if (nydus.isEmpty()) {
                throw new IOException("source " + sourceLocation + " has no manifest for platform(s) "
                        + options.platforms() + "; available: " + found + " (use --platform or --all-platforms)");
            }
            if (options.mergePlatform()) {
                return mergedIndex(sources, nydus);
            }
            if (nydus.size() == 1) {
                return dstManifest(nydus.get(0));
            }
            for (ObjectNode e : nydus) {
                dst.pushManifest(e.path("digest").asText(), dstManifest(e));
            }
            ObjectNode out = Manifest.JSON.createObjectNode();
            out.put("schemaVersion", 2);
            String type = options.oci() || dst instanceof OciLayoutStore || dst instanceof OciArchiveTarget
                    ? MediaTypes.OCI_INDEX : index.mediaType();
            out.put("mediaType", type);
            ArrayNode m = out.putArray("manifests");
            nydus.forEach(e -> m.add(stripped(e)));
            return Manifest.of(out, type);
        }

        /** Manifests pushed by digest are remembered here until the index referencing them is assembled. */
        private final Map<String, Manifest> converted = new LinkedHashMap<>();

        private Manifest dstManifest(ObjectNode entry) {
            return converted.get(entry.path("digest").asText());
        }

        private ObjectNode entry(Manifest m, JsonNode platform) {
            converted.putIfAbsent(m.digest(), m);
            ObjectNode e = Manifest.JSON.createObjectNode();
            e.put("mediaType", m.mediaType());
            e.put("digest", m.digest());
            e.put("size", m.bytes().length);
            if (platform != null && !platform.isMissingNode()) {
                e.set("platform", platform.deepCopy());
            }
            return e;
        }

        private ObjectNode stripped(ObjectNode e) {
            return e.deepCopy();
        }

        private JsonNode platformOf(Manifest m) throws IOException {
            JsonNode config = readConfig(m.json());
            ObjectNode p = Manifest.JSON.createObjectNode();
            p.put("architecture", config.path("architecture").asText("amd64"));
            p.put("os", config.path("os").asText("linux"));
            if (config.hasNonNull("variant")) {
                p.put("variant", config.path("variant").asText());
            }
            return p;
        }

        /** Spec 6.5: the source manifests (copied into the target) then the nydus ones with artifactType. */
        private Manifest mergedIndex(List<ObjectNode> sources, List<ObjectNode> nydus) throws IOException {
            ObjectNode out = Manifest.JSON.createObjectNode();
            out.put("schemaVersion", 2);
            out.put("mediaType", MediaTypes.OCI_INDEX);
            ArrayNode m = out.putArray("manifests");
            for (ObjectNode s : sources) {
                Manifest original = converted.get(s.path("digest").asText());
                copyImage(original);
                dst.pushManifest(original.digest(), original);
                m.add(s);
            }
            for (ObjectNode n : nydus) {
                dst.pushManifest(n.path("digest").asText(), dstManifest(n));
                ObjectNode e = n.deepCopy();
                e.put("artifactType", MediaTypes.NYDUS_MANIFEST_ARTIFACT);
                m.add(e);
            }
            return Manifest.of(out, MediaTypes.OCI_INDEX);
        }

        /** Config plus layer sizes of an image manifest (upstream's image size in its conversion metrics). */
        private static long imageSize(JsonNode manifest) {
            long size = Math.max(0, manifest.path("config").path("size").asLong(0));
            for (JsonNode l : manifest.path("layers")) {
                size += Math.max(0, l.path("size").asLong(0));
            }
            return size;
        }

        /** Copies the config and layers of a source manifest into the target (merge-platform, nydus sources). */
        private void copyImage(Manifest m) throws IOException {
            ObjectNode json = m.json();
            JsonNode cfg = json.path("config");
            transfer.copy(src, cfg.path("digest").asText(), cfg.path("size").asLong(-1));
            for (JsonNode l : json.path("layers")) {
                transfer.copy(src, l.path("digest").asText(), l.path("size").asLong(-1));
            }
        }

        private JsonNode readConfig(ObjectNode manifest) throws IOException {
            JsonNode cfg = manifest.path("config");
            String digest = cfg.path("digest").asText();
            byte[] bytes;
            try (InputStream in = new VerifyingInputStream(src.openBlob(digest), "config " + digest + " of "
                    + sourceLocation, digest, cfg.path("size").asLong(-1))) {
                bytes = in.readNBytes(16 << 20);
                if (in.read() >= 0) {
                    throw new IOException("config " + digest + " of " + sourceLocation + " is larger than 16 MiB");
                }
            }
            JsonNode n = Manifest.JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new IOException("config " + digest + " of " + sourceLocation + " is not a JSON object");
            }
            return n;
        }

        /** Converts one image manifest; pushes its blobs and config (not the manifest) and returns it. */
        private Manifest convertManifest(Manifest source, JsonNode platform) throws IOException {
            ObjectNode json = source.json();
            JsonNode layers = json.path("layers");
            metrics.sourceImageSize.addAndGet(imageSize(json));
            if (layers.size() > 0 && "true".equals(layers.get(layers.size() - 1).path("annotations")
                    .path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())) {
                progress.printf("[nydusify] %s is already a nydus image; copying it unchanged%n", source.digest());
                copyImage(source);
                metrics.targetImageSize.addAndGet(imageSize(json));
                converted.put(source.digest(), source);
                return source;
            }
            for (JsonNode l : layers) {
                String mt = l.path("mediaType").asText();
                if (!MediaTypes.SOURCE_LAYERS.contains(mt)) {
                    throw new IOException("layer " + l.path("digest").asText() + " of " + sourceLocation
                            + " has unsupported media type '" + mt + "' (encrypted or foreign layers are not supported)");
                }
            }
            long pull0 = System.nanoTime();
            JsonNode config = readConfig(json);
            long convert0 = System.nanoTime();
            metrics.pullNanos.addAndGet(convert0 - pull0);
            // layers are pulled, converted and pushed as one stream: their wall time counts as conversion
            try {
                return convertAndPush(source, json, config, layers, convert0);
            } catch (IOException | RuntimeException e) {
                awaitPushesQuietly();
                throw e;
            }
        }

        /** Converts and merges the layers, pushes the bootstrap layer and the config; the manifest for them. */
        private Manifest convertAndPush(Manifest source, ObjectNode json, JsonNode config, JsonNode layers,
                                        long convert0) throws IOException {
            List<LayerConverter.Result> results = convertLayers(layers);
            RafsTree merged = LayerMerge.merge(results, options.prefetchPatterns(),
                    (index, parent) -> convertLayer(layers, index, parent), tmp, sourceLocation.text());
            byte[] bootstrap = Bootstraps.toBytes(merged, options.fsVersion());
            long push0 = System.nanoTime();
            metrics.convertNanos.addAndGet(push0 - convert0);
            BootstrapLayer bootLayer = BootstrapLayer.of(bootstrap);
            progress.printf("[nydusify] merged %d layers: bootstrap %d bytes, blobs %s%n", results.size(),
                    bootstrap.length, merged.blobs.stream().map(BlobInfo::blobId).toList());

            // an OCI layout holds OCI manifests (skopeo and containerd do not resolve Docker types in index.json)
            // a subject exists only in OCI manifests: --with-referrer implies OCI media types
            boolean oci = options.oci() || options.withReferrer() || dst instanceof OciLayoutStore
                    || dst instanceof OciArchiveTarget
                    || MediaTypes.OCI_MANIFEST.equals(source.mediaType());
            List<ObjectNode> blobLayers = new ArrayList<>();
            Set<String> layerBlobs = new LinkedHashSet<>();
            for (LayerConverter.Result r : results) {
                if (r.blobDigest() == null) {
                    continue;
                }
                // its push was started as soon as the layer was built; awaited below, before the manifest
                layerBlobs.add(r.blobDigest());
                blobLayers.add(NydusManifest.blobDescriptor(r.blobDigest(), r.blobSize()));
            }
            for (BlobInfo b : merged.blobs) {
                String digest = "sha256:" + b.blobId();
                if (layerBlobs.contains(digest)) {
                    continue;
                }
                blobLayers.add(NydusManifest.blobDescriptor(digest, dictBlob(digest)));
                layerBlobs.add(digest);
            }
            if (options.backend() != null) {
                blobLayers.clear();
            }
            transfer.push(bootLayer.digest(), bootLayer.gzip());
            byte[] newConfig = Manifest.toBytes(NydusManifest.config((ObjectNode) config, blobLayers, bootLayer,
                    options.backend() == null));
            String configDigest = Manifest.sha256(newConfig);
            transfer.push(configDigest, newConfig);
            awaitPushes(); // every layer blob is in the target before the manifest that names it

            String sourceConfigType = json.path("config").path("mediaType").asText(MediaTypes.OCI_CONFIG);
            String configType = options.mergePlatform() ? MediaTypes.NYDUS_CONFIG
                    : oci && MediaTypes.DOCKER_CONFIG.equals(sourceConfigType) ? MediaTypes.OCI_CONFIG
                    : sourceConfigType;
            List<ObjectNode> manifestLayers = new ArrayList<>(blobLayers);
            manifestLayers.add(NydusManifest.bootstrapDescriptor(bootLayer, oci, options.fsVersion()));
            Manifest m = NydusManifest.manifest(oci, configType, configDigest, newConfig.length, manifestLayers,
                    source, sourceLocation.text(), options.withReferrer(), options.fsVersion());
            metrics.pushNanos.addAndGet(System.nanoTime() - push0);
            metrics.targetImageSize.addAndGet(imageSize(m.json()));
            converted.put(m.digest(), m);
            return m;
        }

        /** Blobs already pushed (by digest): each layer pushes its blob as soon as it is built. */
        private final Set<String> pushedBlobs = java.util.concurrent.ConcurrentHashMap.newKeySet();

        /**
         * Pushes a layer's blob to the external backend or the target, once, then deletes the local file: called
         * on the layer's worker right after the build, so uploads overlap the conversion of the other layers.
         */
        private void pushLayerBlob(LayerConverter.Result r) throws IOException {
            if (r.blobDigest() == null || !pushedBlobs.add(r.blobDigest())) {
                return;
            }
            try {
                if (r.pushed()) {
                    metrics.blobsPushed.incrementAndGet();
                    metrics.pushedBytes.addAndGet(r.blobSize());
                } else if (options.backend() != null) {
                    if (pushToBackend(r.blobDigest().substring(7), r.blobFile())) {
                        metrics.pushedBytes.addAndGet(r.blobSize());
                        metrics.blobsPushed.incrementAndGet();
                    } else {
                        metrics.blobsSkipped.incrementAndGet();
                    }
                } else {
                    transfer.push(r.blobDigest(), r.blobFile());
                }
            } catch (IOException | RuntimeException e) {
                pushedBlobs.remove(r.blobDigest());
                throw e;
            }
            Files.deleteIfExists(r.blobFile());
        }

        /**
         * Uploads a blob to the oss/s3/localfs backend, retried as {@code --push-retry-count/-delay} say; errors the
         * store calls final (403 denied, 404 no bucket) fail at once.
         */
        private boolean pushToBackend(String hex, Path file) throws IOException {
            for (int attempt = 0; ; attempt++) {
                try {
                    return options.backend().push(hex, file);
                } catch (IOException e) {
                    boolean permanent = e.getCause() instanceof dev.nydus4j.spi.BackendException be && !be.isRetryable();
                    if (permanent || attempt >= options.pushRetryCount()) {
                        throw e;
                    }
                    LOG.warn("{} (attempt {} of {}); retrying in {}", e.getMessage(), attempt + 1,
                            options.pushRetryCount() + 1, options.pushRetryDelay());
                }
                try {
                    Thread.sleep(options.pushRetryDelay().toMillis());
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while retrying the upload of blob " + hex, ie);
                }
            }
        }

        /** Size of a blob referenced only through the chunk dict, after making it present in the target. */
        private long dictBlob(String digest) throws IOException {
            if (dict != null && dict.store != null && dict.blobs.containsKey(digest)) {
                long size = dict.blobs.get(digest);
                if (options.backend() == null) {
                    transfer.copy(dict.store, digest, size);
                }
                return size;
            }
            return dst.blobSize(digest).orElseThrow(() -> new IOException("blob " + digest
                    + " is referenced through the chunk dict but is neither in the dict image nor in the target "
                    + dst.describe() + "; push the dict image's blobs to the target first"));
        }

        private LayerConverter layerConverter(Path parentBootstrap) {
            BuildOptions build = BuildOptions.defaults().withSourceType(SourceType.TAR)
                    .withCompressor(options.compressor()).withChunkSize(options.chunkSize())
                    .withWhiteoutSpec(WhiteoutSpec.OCI).withBlobInlineMeta(true).withBlobToc(true)
                    .withChunkDictBootstrap(dict == null ? null : dict.bootstrap)
                    .withParentBootstrap(parentBootstrap);
            return new LayerConverter(build, hashPool).fsVersion(options.fsVersion());
        }

        private LayerConverter.Result convertLayer(JsonNode layers, int index, Path parentBootstrap)
                throws IOException {
            JsonNode l = layers.get(index);
            int n = layers.size();
            String digest = l.path("digest").asText();
            String what = "layer " + (index + 1) + "/" + n + " " + digest + " of " + sourceLocation;
            if (parentBootstrap != null) {
                progress.printf("[nydusify] layer %d/%d links to files of lower layers: building it on them%n",
                        index + 1, n);
            }
            LayerConverter.Result r = layerConverter(parentBootstrap).convert(src, index, what, digest,
                    l.path("size").asLong(-1), tmp, streamBlobs ? dst : null);
            metrics.pulledBytes.addAndGet(r.sourceBytes());
            metrics.layers.incrementAndGet();
            metrics.convertMillis.addAndGet(r.millis());
            pendingPushes.add(pushLayerBlobAsync(r, n, digest));
            return r;
        }

        /** Layer blob pushes still running; every one is awaited before a manifest is pushed. */
        private final java.util.Queue<CompletableFuture<Void>> pendingPushes =
                new java.util.concurrent.ConcurrentLinkedQueue<>();

        /**
         * Pushes the layer's blob ({@link #pushLayerBlob}) on a thread of its own, so that the layer's worker
         * converts the next layer, or the merge starts, while the registry completes the upload.
         */
        private CompletableFuture<Void> pushLayerBlobAsync(LayerConverter.Result r, int n, String digest) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                long pushStart = System.nanoTime();
                try {
                    pushLayerBlob(r);
                    long pushMillis = (System.nanoTime() - pushStart) / 1_000_000;
                    synchronized (progress) {
                        progress.printf("[nydusify] layer %d/%d %s (%d bytes) -> %s in %d ms, pushed in %d ms%n",
                                r.index() + 1, n, digest, r.sourceBytes(), r.blobDigest() == null
                                        ? "no new data (metadata only)"
                                        : "nydus blob " + r.blobDigest() + " (" + r.blobSize() + " bytes)",
                                r.millis(), pushMillis);
                        progress.flush();
                    }
                    done.complete(null);
                } catch (IOException | RuntimeException e) {
                    done.completeExceptionally(e);
                }
            }, "nydusify-push-" + (r.index() + 1));
            t.setDaemon(true);
            t.start();
            return done;
        }

        /** Waits for every layer blob push started so far; the first failure is thrown (after all have ended). */
        private void awaitPushes() throws IOException {
            Exception first = null;
            for (CompletableFuture<Void> f; (f = pendingPushes.poll()) != null; ) {
                try {
                    Await.result(f, "a layer blob push");
                } catch (IOException | RuntimeException e) {
                    first = first == null ? e : first;
                }
            }
            if (first instanceof IOException io) {
                throw io;
            }
            if (first != null) {
                throw (RuntimeException) first;
            }
        }

        /** After a failure elsewhere: lets the running pushes end (the work dir is removed next), errors aside. */
        private void awaitPushesQuietly() {
            try {
                awaitPushes();
            } catch (IOException | RuntimeException ignored) {
                // the caller reports its own failure
            }
        }

        /** Converts every layer on the pool; null marks a layer to rebuild on its lower layers. */
        private List<LayerConverter.Result> convertLayers(JsonNode layers) throws IOException {
            // biggest layers first (descriptor size): with more layers than workers, a big layer started last would
            // run alone at the end; results are still collected in layer order
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                order.add(i);
            }
            order.sort(Comparator.comparingLong((Integer i) -> layers.get(i).path("size").asLong(0)).reversed());
            List<Future<LayerConverter.Result>> futures = new ArrayList<>(java.util.Collections.nCopies(
                    layers.size(), (Future<LayerConverter.Result>) null));
            for (int index : order) {
                futures.set(index, pool.submit(() -> {
                    try {
                        return convertLayer(layers, index, null);
                    } catch (IOException e) {
                        if (String.valueOf(e.getMessage()).contains(LINK_INTO_LOWER_LAYER)) {
                            return null;
                        }
                        throw e;
                    }
                }));
            }
            List<LayerConverter.Result> results = new ArrayList<>();
            try {
                for (Future<LayerConverter.Result> f : futures) {
                    results.add(Await.result(f, "the layers of " + sourceLocation));
                }
            } catch (IOException | RuntimeException e) {
                futures.forEach(f -> f.cancel(true));
                throw e;
            }
            return results;
        }
    }
}
