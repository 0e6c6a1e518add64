package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.RafsTree;

import java.io.IOException;
import java.nio.file.Path;

/** Production {@link BootstrapCodec}: reads v5 or v6 and writes its version, both through {@link Bootstraps}. */
final class RafsBootstrapCodec implements BootstrapCodec {
    static final RafsBootstrapCodec INSTANCE = new RafsBootstrapCodec(6);
    static final RafsBootstrapCodec V5 = new RafsBootstrapCodec(5);

    private final int version;

    private RafsBootstrapCodec(int version) {
        this.version = version;
    }

    /** The codec writing RAFS {@code version} (5 or 6). */
    static RafsBootstrapCodec forVersion(int version) {
        return switch (version) {
            case 5 -> V5;
            case 6 -> INSTANCE;
            default -> throw new IllegalArgumentException("invalid RAFS version " + version + ": expected 5 or 6");
        };
    }

    @Override
    public RafsTree read(Path bootstrap) throws IOException {
        return Bootstraps.read(bootstrap);
    }

    @Override
    public byte[] toBytes(RafsTree tree) {
        return Bootstraps.toBytes(tree, version);
    }
}
