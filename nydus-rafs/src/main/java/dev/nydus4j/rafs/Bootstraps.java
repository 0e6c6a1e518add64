package dev.nydus4j.rafs;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v5.RafsV5Reader;
import dev.nydus4j.rafs.v5.RafsV5Writer;
import dev.nydus4j.rafs.v6.RafsV6Writer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a bootstrap of either RAFS version, telling them apart by magic: RAFS v5 {@code 0x52414653} at offset 0,
 * EROFS {@code 0xE0F5E1E2} at offset 1024 (RAFS v6); writes either version. Stateless and thread-safe.
 */
public final class Bootstraps {
    static final int V5_MAGIC = 0x52414653;
    static final int EROFS_MAGIC = 0xE0F5E1E2;
    static final int EROFS_SUPER_OFFSET = 1024;
    /** Bootstraps are read whole into memory; bound the size before allocating. */
    static final long MAX_SIZE = Integer.MAX_VALUE - 8;

    private Bootstraps() {
    }

    /** Reads and validates a bootstrap file of either version. */
    public static RafsTree read(Path bootstrap) throws IOException {
        return read(readBytes(bootstrap), bootstrap.toString());
    }

    /** The whole bootstrap file, size-bounded before allocating. */
    static byte[] readBytes(Path bootstrap) throws IOException {
        long size = Files.size(bootstrap);
        if (size > MAX_SIZE) {
            throw new CorruptImageException(bootstrap.toString(), -1,
                    "bootstrap is " + size + " bytes; at most " + MAX_SIZE + " are supported");
        }
        return Files.readAllBytes(bootstrap);
    }

    /** Reads and validates bootstrap bytes of either version; {@code resource} names them in errors. */
    public static RafsTree read(byte[] bytes, String resource) throws IOException {
        int v = version(ByteBuffer.wrap(bytes), resource);
        if (v == 5) {
            return RafsV5Reader.read(bytes, resource);
        }
        return readV6(bytes, resource);
    }

    /** The bootstrap of {@code tree} in RAFS {@code version} (5 or 6). */
    public static byte[] toBytes(RafsTree tree, int version) {
        return switch (version) {
            case 5 -> RafsV5Writer.toBytes(tree);
            case 6 -> RafsV6Writer.toBytes(tree);
            default -> throw new IllegalArgumentException("invalid RAFS version " + version + ": expected 5 or 6");
        };
    }

    /** RAFS version (5 or 6) of a bootstrap file, from its magic. */
    public static int version(Path bootstrap) throws IOException {
        try (FileChannel ch = FileChannel.open(bootstrap, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(EROFS_SUPER_OFFSET + 4);
            while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                // positional reads until the header is complete or the file ends
            }
            head.flip();
            return version(head, bootstrap.toString());
        }
    }

    /** RAFS version (5 or 6) of bootstrap bytes, from their magic. */
    public static int version(byte[] bytes, String resource) throws CorruptImageException {
        return version(ByteBuffer.wrap(bytes), resource);
    }

    private static int version(ByteBuffer head, String resource) throws CorruptImageException {
        ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() >= 4 && b.getInt(0) == V5_MAGIC) {
            return 5;
        }
        if (b.limit() >= EROFS_SUPER_OFFSET + 4 && b.getInt(EROFS_SUPER_OFFSET) == EROFS_MAGIC) {
            return 6;
        }
        throw new CorruptImageException(resource, 0, "not a RAFS bootstrap: no RAFS v5 magic at 0 and no EROFS magic at "
                + EROFS_SUPER_OFFSET + " of " + resource);
    }

    private static RafsTree readV6(byte[] bytes, String resource) throws IOException {
        return dev.nydus4j.rafs.v6.RafsV6Reader.read(bytes, resource);
    }
}
