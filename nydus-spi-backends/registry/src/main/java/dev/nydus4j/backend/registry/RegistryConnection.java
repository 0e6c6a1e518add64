package dev.nydus4j.backend.registry;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * State one registry backend instance shares between its open blobs: the transport (auth, token, scheme) and the
 * blob-to-redirect-location cache. Reference counted by {@link RegistryBackendProvider}; the last
 * {@link #release()} closes the transport. Thread-safe.
 */
final class RegistryConnection {
    final RegistryTransport transport;
    final String repo;
    private final Map<String, URI> redirects = new ConcurrentHashMap<>();
    private final Consumer<RegistryConnection> onLastRelease;
    private int refs; // guarded by this

    RegistryConnection(RegistryTransport transport, String repo, Consumer<RegistryConnection> onLastRelease) {
        this.transport = transport;
        this.repo = repo;
        this.onLastRelease = onLastRelease;
    }

    synchronized boolean retain() {
        if (refs < 0) {
            return false;
        }
        refs++;
        return true;
    }

    void release() throws IOException {
        synchronized (this) {
            if (refs <= 0 || --refs > 0) {
                return;
            }
            refs = -1;
        }
        onLastRelease.accept(this);
        transport.close();
    }

    URI redirectFor(String blobId) {
        return redirects.get(blobId);
    }

    void rememberRedirect(String blobId, URI location) {
        redirects.put(blobId, location);
    }

    void forgetRedirect(String blobId, URI location) {
        redirects.remove(blobId, location);
    }
}
