package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.tree.RafsTree;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads bootstraps (parent, chunk dict) and serialises trees (inlined per-layer bootstrap, output). Production:
 * v5/v6 detection for reading and the RAFS v6 writer. Thread-safe implementations.
 */
public interface BootstrapCodec {
    RafsTree read(Path bootstrap) throws IOException;

    byte[] toBytes(RafsTree tree) throws IOException;
}
