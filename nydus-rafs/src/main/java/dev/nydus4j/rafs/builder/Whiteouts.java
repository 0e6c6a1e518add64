package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whiteout conventions. OCI: an empty entry {@code .wh.NAME} deletes NAME of the lower layers and
 * {@code .wh..wh..opq} hides the whole lower content of its directory. Overlayfs: a 0/0 character device deletes
 * its name and xattr {@code trusted.overlay.opaque=y} marks an opaque directory.
 */
final class Whiteouts {
    static final String PREFIX = ".wh.";
    static final String OPAQUE = ".wh..wh..opq";
    static final String OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";
    private static final byte[] PREFIX_BYTES = PREFIX.getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPAQUE_BYTES = OPAQUE.getBytes(StandardCharsets.US_ASCII);

    private Whiteouts() {
    }

    static boolean isOpaqueMarker(byte[] name) {
        return Arrays.equals(name, OPAQUE_BYTES);
    }

    /** {@code .wh.NAME} (but not the opaque marker). */
    static boolean isWhiteout(byte[] name) {
        return name.length > PREFIX_BYTES.length && !isOpaqueMarker(name)
                && Arrays.equals(name, 0, PREFIX_BYTES.length, PREFIX_BYTES, 0, PREFIX_BYTES.length);
    }

    /** NAME of {@code .wh.NAME}. */
    static byte[] whiteoutTarget(byte[] name) {
        return Arrays.copyOfRange(name, PREFIX_BYTES.length, name.length);
    }

    static boolean isOverlayWhiteout(Inode inode) {
        return inode.type() == FileType.CHAR_DEVICE && inode.rdev == 0;
    }

    static boolean isOverlayOpaque(Inode inode) {
        byte[] v = inode.xattrs.get(OVERLAY_OPAQUE_XATTR);
        return inode.isDirectory() && v != null && v.length == 1 && v[0] == 'y';
    }

    /**
     * Rewrites overlayfs markers below {@code dir} into OCI markers, so that {@link Merger} handles one convention:
     * a 0/0 char device NAME becomes an empty file {@code .wh.NAME}; an opaque directory loses the xattr and
     * gains {@code .wh..wh..opq}.
     */
    static void overlayfsToOci(Node dir) {
        Inode d = dir.inode();
        if (isOverlayOpaque(d)) {
            d.xattrs.remove(OVERLAY_OPAQUE_XATTR);
            dir.putChild(new Node(OPAQUE_BYTES, marker(d)));
        }
        List<Node> kids = new ArrayList<>(dir.children());
        for (Node k : kids) {
            if (isOverlayWhiteout(k.inode())) {
                dir.removeChild(k.name());
                byte[] wh = new byte[PREFIX_BYTES.length + k.name().length];
                System.arraycopy(PREFIX_BYTES, 0, wh, 0, PREFIX_BYTES.length);
                System.arraycopy(k.name(), 0, wh, PREFIX_BYTES.length, k.name().length);
                dir.putChild(new Node(wh, marker(k.inode())));
            } else if (k.inode().isDirectory()) {
                overlayfsToOci(k);
            }
        }
    }

    private static Inode marker(Inode like) {
        Inode m = new Inode(FileType.REGULAR.modeBits() | 0644);
        m.uid = like.uid;
        m.gid = like.gid;
        m.mtimeSec = like.mtimeSec;
        m.mtimeNsec = like.mtimeNsec;
        return m;
    }
}
