package dev.nydus4j.convert;

import dev.nydus4j.backend.registry.ImageReference;
import dev.nydus4j.backend.registry.RegistryClient;
import dev.nydus4j.backend.registry.RegistryConfig;
import dev.nydus4j.backend.registry.RegistryManifest;
import dev.nydus4j.backend.registry.RegistryStatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

/** One repository of a registry, through {@link RegistryClient}; pushes are retried as {@code --push-retry-*} say. */
final class RegistryStore implements ImageStore {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryStore.class);

    private final ImageReference ref;
    private final RegistryClient client;
    private final int pushRetries;
    private final Duration retryDelay;

    private RegistryStore(ImageReference ref, RegistryClient client, int pushRetries, Duration retryDelay) {
        this.ref = ref;
        this.client = client;
        this.pushRetries = pushRetries;
        this.retryDelay = retryDelay;
    }

    /**
     * @param insecure  skip TLS verification and allow the https to http fallback
     * @param plainHttp talk plain http from the start
     */
    static RegistryStore open(ImageReference ref, boolean insecure, boolean plainHttp, int pushRetries,
                              Duration retryDelay) throws IOException {
        RegistryConfig config = RegistryConfig.of(ref.host(), ref.repository())
                .withTls(plainHttp ? "http" : "", insecure, caCertFiles(System.getenv()))
                .withTimeouts(0, 10, 2);
        // like upstream nydusify (RetryWithHTTP), a registry that answers https with plain http (localhost:5000)
        // is used over http without --*-insecure; certificate errors still fail
        return new RegistryStore(ref, RegistryClient.open(config, System.getenv(), true), pushRetries, retryDelay);
    }

    /**
     * Extra CA certificates (PEM) trusted besides the system roots: {@code SSL_CERT_FILE}, which upstream's Go
     * nydusify honours the same way, or the JVM property {@code nydusify.ca-cert-files} (comma list; for embedders
     * and tests, which cannot set the environment).
     */
    static List<String> caCertFiles(java.util.Map<String, String> env) {
        String prop = System.getProperty("nydusify.ca-cert-files", "");
        if (!prop.isBlank()) {
            return java.util.Arrays.stream(prop.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
        String file = env.getOrDefault("SSL_CERT_FILE", "");
        return file.isBlank() ? List.of() : List.of(file);
    }

    /** Whether requests go over plain http (configured, or after the fallback). */
    boolean usesPlainHttp() {
        return "http".equals(client.scheme());
    }

    ImageReference reference() {
        return ref;
    }

    String host() {
        return ref.host();
    }

    String repository() {
        return ref.repository();
    }

    @Override
    public String describe() {
        return ref.host() + "/" + ref.repository();
    }

    @Override
    public String defaultReference() {
        return ref.manifestReference();
    }

    @Override
    public Manifest manifest(String reference) throws IOException {
        RegistryManifest m;
        try {
            m = client.getManifest(ref.repository(), reference);
        } catch (RegistryStatusException e) {
            if (e.status() == 404) {
                NoSuchFileException missing = new NoSuchFileException(describe() + ":" + reference, null,
                        "image not found in the registry (unknown tag or digest)");
                missing.initCause(e);
                throw missing;
            }
            throw e;
        }
        return new Manifest(m.bytes(), m.mediaType(), m.digest());
    }

    @Override
    public InputStream openBlob(String digest) throws IOException {
        return client.getBlob(ref.repository(), digest);
    }

    @Override
    public OptionalLong blobSize(String digest) throws IOException {
        return client.headBlob(ref.repository(), digest);
    }

    @Override
    public boolean pushBlob(String digest, Path file) throws IOException {
        return retrying("push blob " + digest, () -> client.pushBlob(ref.repository(), digest, file));
    }

    @Override
    public boolean pushBlob(String digest, byte[] bytes) throws IOException {
        return retrying("push blob " + digest, () -> {
            if (client.headBlob(ref.repository(), digest).isPresent()) {
                return false;
            }
            String pushed = client.pushBlob(ref.repository(), bytes);
            if (!pushed.equals(digest)) {
                throw new IllegalStateException("blob bytes hash to " + pushed + ", not " + digest);
            }
            return true;
        });
    }

    @Override
    public StreamingPush.Upload startStreamingUpload() throws IOException {
        RegistryClient.ChunkedUpload u = client.startChunkedUpload(ref.repository());
        return new StreamingPush.Upload() {
            @Override
            public boolean writeStream(InputStream in) throws IOException {
                return u.writeStream(in);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                u.write(b, off, len);
            }

            @Override
            public void finish(String digest) throws IOException {
                u.finish(digest);
            }

            @Override
            public void close() {
                u.close();
            }
        };
    }

    @Override
    public boolean mountBlob(String digest, ImageStore from) throws IOException {
        if (!(from instanceof RegistryStore other) || !other.host().equals(host())
                || other.repository().equals(repository())) {
            return false;
        }
        try {
            return client.mountBlob(ref.repository(), digest, other.repository());
        } catch (RegistryStatusException e) {
            LOG.debug("cross-repository mount of {} from {} refused: {}", digest, other.repository(), e.getMessage());
            return false;
        }
    }

    @Override
    public void pushManifest(String reference, Manifest manifest) throws IOException {
        retrying("push manifest " + describe() + ":" + reference, () -> {
            client.pushManifest(ref.repository(), reference, manifest.mediaType(), manifest.bytes());
            return true;
        });
    }

    private interface Push {
        boolean run() throws IOException;
    }

    /** Retries server errors and I/O failures; client errors (4xx: denied, invalid) fail at once. */
    private boolean retrying(String what, Push push) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return push.run();
            } catch (RegistryStatusException e) {
                if (e.status() < 500 || attempt >= pushRetries) {
                    throw e;
                }
                LOG.warn("{} failed (attempt {} of {}): {}; retrying in {}", what, attempt + 1, pushRetries + 1,
                        e.getMessage(), retryDelay);
            } catch (IOException e) {
                if (attempt >= pushRetries) {
                    throw e;
                }
                LOG.warn("{} failed (attempt {} of {}): {}; retrying in {}", what, attempt + 1, pushRetries + 1,
                        e.getMessage(), retryDelay);
            }
            try {
                Thread.sleep(retryDelay.toMillis());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while retrying " + what, ie);
            }
        }
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
