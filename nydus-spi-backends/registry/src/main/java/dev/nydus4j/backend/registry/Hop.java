package dev.nydus4j.backend.registry;

import java.io.IOException;
import java.net.URI;
import java.util.Map;

/** One HTTP exchange of a prepared request to {@code uri}, via the forward proxy or directly. */
interface Hop {
    RegistryResponse send(URI uri, boolean viaProxy, Map<String, String> extraHeaders) throws IOException;
}
