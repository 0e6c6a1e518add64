package dev.nydus4j.convert;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code nydusify mount} (API spec 5.3): fetches only the bootstrap layer of a nydus image and mounts it with
 * nydusd (in-process, or the binary given), blobs fetched lazily from the registry (or read from a localfs
 * directory / the OCI layout). Closing unmounts.
 */
public final class Mounter implements AutoCloseable {
    /** What the mount writes into the work dir: removed again on close (upstream removes its work dir). */
    private static final java.util.List<String> WORK_FILES = java.util.List.of("image.boot", "nydusd-config.json",
            "nydusd.log", "nydusd.sock", "cache");

    private final AutoCloseable daemon;
    private final Path mountpoint;
    private final Path workDir;
    private final boolean createdWorkDir;

    private Mounter(AutoCloseable daemon, Path mountpoint, Path workDir, boolean createdWorkDir) {
        this.daemon = daemon;
        this.mountpoint = mountpoint;
        this.workDir = workDir;
        this.createdWorkDir = createdWorkDir;
    }

    /**
     * @param backend    where the blobs are ({@code --backend-type localfs|oss|s3}), or null for the image's store
     * @param nydusd     external nydusd binary, or null for the in-process daemon
     * @param mountpoint directory to mount at (created when missing)
     */
    public static Mounter mount(ImageLocation target, boolean insecure, boolean plainHttp, Platform platform,
                                ExternalBlobBackend backend, Path nydusd, Path mountpoint, Path workDir)
            throws IOException {
        boolean createdWorkDir = !Files.exists(workDir);
        Files.createDirectories(workDir);
        try {
            return mount(target, insecure, plainHttp, platform, backend, nydusd, mountpoint, workDir, createdWorkDir);
        } catch (IOException | RuntimeException e) {
            cleanWorkDir(workDir, createdWorkDir);
            throw e;
        }
    }

    private static Mounter mount(ImageLocation target, boolean insecure, boolean plainHttp, Platform platform,
                                 ExternalBlobBackend backend, Path nydusd, Path mountpoint, Path workDir,
                                 boolean createdWorkDir) throws IOException {
        Path blobDir = backend instanceof ExternalBlobBackend.LocalfsBlobBackend l ? l.dir() : null;
        Files.createDirectories(mountpoint);
        Path bootstrap = workDir.resolve("image.boot");
        String config;
        Path cache = Files.createDirectories(workDir.resolve("cache"));
        try (ImageStore store = target.open(insecure, plainHttp, false, 0, Duration.ZERO)) {
            JsonNode layers = nydusManifest(store, target, platform).json().path("layers");
            JsonNode boot = layers.size() == 0 ? null : layers.get(layers.size() - 1);
            if (boot == null || !"true".equals(boot.path("annotations").path(MediaTypes.ANNOTATION_BOOTSTRAP).asText())) {
                throw new IOException(target + " is not a nydus image: its last layer is not annotated "
                        + MediaTypes.ANNOTATION_BOOTSTRAP);
            }
            String digest = boot.path("digest").asText();
            try (InputStream in = new VerifyingInputStream(store.openBlob(digest), "bootstrap layer " + digest,
                    digest, boot.path("size").asLong(-1))) {
                Files.write(bootstrap, BootstrapLayer.extract(in, "bootstrap layer " + digest).orElseThrow(
                        () -> new IOException("bootstrap layer " + digest + " of " + target
                                + " has no image/image.boot")));
            }
            if (blobDir != null) {
                config = NydusdConfigJson.localfs(blobDir, cache);
            } else if (backend != null) {
                config = NydusdConfigJson.of(backend.type(), backend.config(), cache);
            } else if (store instanceof OciLayoutStore layout) {
                config = NydusdConfigJson.localfs(layout.blobDirectory(), cache);
            } else if (target.kind() == ImageLocation.Kind.REGISTRY) {
                config = NydusdConfigJson.registry(target.registry().host(), target.registry().repository(),
                        insecure, plainHttp || store instanceof RegistryStore r && r.usesPlainHttp(), cache);
            } else {
                throw new IOException("cannot mount " + target + ": give --backend-type localfs with the blob dir");
            }
        }
        if (nydusd != null) {
            Path configFile = workDir.resolve("nydusd-config.json");
            Files.writeString(configFile, config);
            ExternalNydusd d = ExternalNydusd.start(nydusd, bootstrap, configFile, mountpoint, workDir);
            return new Mounter(d, d.mountpoint(), workDir, createdWorkDir);
        }
        InProcessMount d = InProcessMount.start(bootstrap, config, mountpoint);
        return new Mounter(d, d.mountpoint(), workDir, createdWorkDir);
    }

    /** The nydus manifest for {@code platform}: an index entry marked as nydus first, else any for the platform. */
    static Manifest nydusManifest(ImageStore store, ImageLocation target, Platform platform) throws IOException {
        String ref = target.kind() == ImageLocation.Kind.REGISTRY ? target.registry().manifestReference()
                : store.defaultReference();
        Manifest top = store.manifest(ref);
        if (!top.isIndex()) {
            return top;
        }
        JsonNode chosen = null;
        for (JsonNode d : top.json().path("manifests")) {
            if (platform.matches(d.path("platform")) && (chosen == null || isNydusEntry(d))) {
                chosen = d;
            }
        }
        if (chosen == null) {
            throw new IOException(target + " has no manifest for platform " + platform);
        }
        return store.manifest(chosen.path("digest").asText());
    }

    static boolean isNydusEntry(JsonNode d) {
        return MediaTypes.NYDUS_MANIFEST_ARTIFACT.equals(d.path("artifactType").asText())
                || d.path("platform").path("os.features").toString().contains(MediaTypes.LEGACY_NYDUS_FEATURE);
    }

    public Path mountpoint() {
        return mountpoint;
    }

    @Override
    public void close() throws IOException {
        try {
            daemon.close();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot stop nydusd at " + mountpoint + ": " + e.getMessage(), e);
        }
        cleanWorkDir(workDir, createdWorkDir);
    }

    /** Removes the work dir when this mount created it, else only the files the mount put there. */
    private static void cleanWorkDir(Path workDir, boolean created) {
        if (created) {
            Converter.deleteTree(workDir);
            return;
        }
        for (String name : WORK_FILES) {
            Converter.deleteTree(workDir.resolve(name));
        }
    }
}
