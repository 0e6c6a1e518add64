package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6Writer;

import java.io.IOException;
import java.nio.file.Path;

/** Production {@link BootstrapCodec}: reads v5 or v6 ({@link Bootstraps}), writes v6 ({@link RafsV6Writer}). */
final class RafsBootstrapCodec implements BootstrapCodec {
    static final RafsBootstrapCodec INSTANCE = new RafsBootstrapCodec();

    @Override
    public RafsTree read(Path bootstrap) throws IOException {
        return Bootstraps.read(bootstrap);
    }

    @Override
    public byte[] toBytes(RafsTree tree) {
        return RafsV6Writer.toBytes(tree);
    }
}
