package dev.nydus4j.snapshotter;

import java.util.ArrayList;
import java.util.List;

/**
 * Mounts exactly as containerd's overlayfs snapshotter returns them (SNAPSHOTTER.md 3.4, "native"): a bind of the
 * snapshot's own {@code fs} without parents, a read-only bind of the single parent for a view, otherwise an
 * overlay whose lowerdir lists the parents nearest first. Stateless.
 */
final class NativeMounts {
    private NativeMounts() {
    }

    /**
     * @param parents  the parent chain, nearest first
     * @param volatileUpper whether to add overlayfs' {@code volatile} option to a writable overlay
     */
    static List<MountSpec> of(Layout layout, SnapshotRecord s, List<SnapshotRecord> parents, boolean volatileUpper) {
        if (parents.isEmpty()) {
            String ro = s.kind() == Kind.VIEW ? "ro" : "rw";
            return List.of(new MountSpec("bind", layout.fs(s.id()).toString(), List.of(ro, "rbind")));
        }
        List<String> options = new ArrayList<>();
        if (s.kind() == Kind.ACTIVE) {
            options.add("workdir=" + layout.work(s.id()));
            options.add("upperdir=" + layout.fs(s.id()));
            if (volatileUpper) {
                options.add("volatile");
            }
        } else if (parents.size() == 1) {
            return List.of(new MountSpec("bind", layout.fs(parents.get(0).id()).toString(), List.of("ro", "rbind")));
        }
        List<String> lower = new ArrayList<>();
        for (SnapshotRecord p : parents) {
            lower.add(layout.fs(p.id()).toString());
        }
        options.add("lowerdir=" + String.join(":", lower));
        return List.of(new MountSpec("overlay", "overlay", options));
    }

    /**
     * Mounts of a snapshot above a Nydus bootstrap layer: overlay with the RAFS mountpoint as the lowest lowerdir
     * (the bootstrap layer's own files are not part of the rootfs), any layers between first; a view gets its own
     * empty {@code fs} as the last lowerdir because overlayfs needs two lower layers without an upper.
     *
     * @param above parents nearer than the bootstrap layer, nearest first
     */
    static List<MountSpec> remote(Layout layout, SnapshotRecord s, List<SnapshotRecord> above,
                                  java.nio.file.Path rafsMountpoint, boolean volatileUpper) {
        List<String> options = new ArrayList<>();
        List<String> lower = new ArrayList<>();
        for (SnapshotRecord p : above) {
            lower.add(layout.fs(p.id()).toString());
        }
        lower.add(rafsMountpoint.toString());
        if (s.kind() == Kind.ACTIVE) {
            if (volatileUpper) {
                options.add("volatile");
            }
            options.add("workdir=" + layout.work(s.id()));
            options.add("upperdir=" + layout.fs(s.id()));
        } else {
            lower.add(layout.fs(s.id()).toString());
        }
        options.add("lowerdir=" + String.join(":", lower));
        return List.of(new MountSpec("overlay", "overlay", options));
    }
}
