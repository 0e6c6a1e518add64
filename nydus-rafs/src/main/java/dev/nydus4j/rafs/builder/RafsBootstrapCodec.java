package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v5.RafsV5Writer;
import dev.nydus4j.rafs.v6.RafsV6Writer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Production {@link BootstrapCodec}: reads v5 or v6 ({@link Bootstraps}), writes v6 ({@link RafsV6Writer}) or v5
 * ({@link RafsV5Writer}).
 */
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
        return version == 5 ? RafsV5Writer.toBytes(tree) : RafsV6Writer.toBytes(tree);
    }
}
