package dev.nydus4j.rafs.v6;

import dev.nydus4j.api.CorruptImageException;
import dev.nydus4j.rafs.tree.RafsTree;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Strict RAFS v6 bootstrap reader (spec 3, checklist 3.16): decodes and validates a whole bootstrap into a
 * {@link RafsTree}. Every count, offset and length is checked against the file before use; structures must not
 * overlap and bytes outside them must be zero. {@code Inode.ino} is the nid; hard links share one Inode object;
 * chunk locations come from the bootstrap chunk table. Stateless and thread-safe.
 */
public final class RafsV6Reader {
    static final int BLOCK = ErofsSuperBlock.BLOCK_SIZE;
    /** Bootstraps are held in memory; v6 nids and offsets used here are int-addressable below 2 GiB. */
    static final long MAX_BOOTSTRAP_SIZE = Integer.MAX_VALUE & ~(BLOCK - 1L);

    private RafsV6Reader() {
    }

    /** Reads and validates the bootstrap file {@code path}. */
    public static RafsTree read(Path path) throws IOException {
        long size = Files.size(path);
        if (size > MAX_BOOTSTRAP_SIZE) {
            throw new CorruptImageException(path.toString(), 0, "bootstrap size expected <= " + MAX_BOOTSTRAP_SIZE
                    + " bytes, found " + size);
        }
        return read(Files.readAllBytes(path), path.toString());
    }

    /** Reads and validates a bootstrap held in {@code bytes}; {@code resourceName} names it in errors. */
    public static RafsTree read(byte[] bytes, String resourceName) throws CorruptImageException {
        return new TreeWalk(bytes, resourceName).run();
    }

    /**
     * The validated device slots of a v6 bootstrap in blob-table order (superblocks, blob table and device table
     * are checked; the tree is not walked).
     */
    public static List<RafsV6Device> devices(byte[] bytes, String resourceName) throws CorruptImageException {
        V6Headers h = V6Headers.read(bytes, resourceName, new Extents());
        List<RafsV6Device> out = new ArrayList<>();
        for (int i = 0; i < h.devices().size(); i++) {
            DeviceSlot d = h.devices().get(i);
            out.add(new RafsV6Device(d.tag(), i, d.blocks(), d.mappedBlkaddr()));
        }
        return out;
    }
}
