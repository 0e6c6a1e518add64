package dev.nydus4j.fuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.storage.backend.BackendRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The backend of one mounted image, with the keys upstream reloads while mounted ({@code PUT /api/v1/config},
 * API.md 2.4): a new {@code registry_auth} rebinds the registry backend's config with that {@code auth} (empty =
 * anonymous) and every blob opened through {@link #open} switches to it at its next read. Blobs hand out wrappers, so
 * the blob device keeps its objects; the backends they replaced are closed with this object (an old one may still
 * be serving a read when it is replaced). Thread-safe.
 */
final class HotBackend implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HotBackend.class);

    private final BackendRegistry registry;
    private final String type;
    private final String path;
    private final BackendContext context;
    private volatile ObjectNode config;
    private volatile Object bound;
    private volatile int generation;
    private final List<BlobBackend> retired = new ArrayList<>();

    HotBackend(BackendRegistry registry, String type, JsonNode config, String path, BackendContext context) {
        this.registry = Objects.requireNonNull(registry, "registry is null");
        this.type = type;
        this.path = path;
        this.context = context;
        this.config = config instanceof ObjectNode o ? o.deepCopy() : null;
        this.bound = registry.bindConfig(type, config, path);
    }

    /** Opens {@code blobId} (the blob device's opener). */
    BlobBackend open(String blobId) throws IOException {
        int gen = generation;
        return new Hot(blobId, registry.open(type, bound, blobId, context), gen);
    }

    /**
     * Applies a new {@code registry_auth} (base64 {@code user:pass}; empty = anonymous).
     *
     * @return false when the backend is not a registry (upstream's other backends have no such key)
     * @throws IllegalArgumentException when the backend rejects the new config
     */
    synchronized boolean registryAuth(String auth) {
        if (!type.equals("registry") || config == null) {
            return false;
        }
        ObjectNode next = config.deepCopy();
        if (auth == null || auth.isEmpty()) {
            next.remove("auth");
        } else {
            next.put("auth", auth);
        }
        Object nextBound = registry.bindConfig(type, next, path);
        config = next;
        bound = nextBound;
        generation++;
        LOG.info("registry_auth of {} updated ({}); blobs reopen at their next read", context.instanceId(),
                auth == null || auth.isEmpty() ? "anonymous" : "credentials set");
        return true;
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (BlobBackend b : retired) {
            try {
                b.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        retired.clear();
        if (first != null) {
            throw first;
        }
    }

    private synchronized void retire(BlobBackend b) {
        retired.add(b);
    }

    /** A blob whose backend follows the current config. */
    private final class Hot implements BlobBackend {
        private final String blobId;
        private volatile BlobBackend delegate;
        private volatile int gen;

        Hot(String blobId, BlobBackend delegate, int gen) {
            this.blobId = blobId;
            this.delegate = delegate;
            this.gen = gen;
        }

        private BlobBackend current() throws IOException {
            if (gen != generation) {
                synchronized (this) {
                    int now = generation;
                    if (gen != now) {
                        BlobBackend old = delegate;
                        delegate = registry.open(type, bound, blobId, context);
                        gen = now;
                        retire(old);
                    }
                }
            }
            return delegate;
        }

        @Override
        public String blobId() {
            return blobId;
        }

        @Override
        public long size() throws IOException {
            return current().size();
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return current().read(dst, position);
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }
    }
}
