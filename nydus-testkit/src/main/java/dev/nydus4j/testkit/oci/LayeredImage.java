package dev.nydus4j.testkit.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Builds a multi-layer OCI image in a layout directory with umoci: {@link #layer} lets the caller change the
 * unpacked rootfs and repacks it as one new layer (umoci writes whiteouts for deletions); {@link #rawLayer} adds a
 * hand-made tar as is (opaque markers, unusual entries).
 *
 * <pre>{@code
 * LayeredImage img = LayeredImage.create(dir, "latest");
 * img.layer(root -> { Files.copy(OciTools.BUSYBOX, root.resolve("bin/busybox")); });
 * img.config("amd64");
 * }</pre>
 */
public final class LayeredImage {
    /** Changes a rootfs in place. */
    public interface RootfsChange {
        void apply(Path rootfs) throws IOException;
    }

    private final Path layout;
    private final Path bundle;
    private final String tag;

    private LayeredImage(Path layout, Path bundle, String tag) {
        this.layout = layout;
        this.bundle = bundle;
        this.tag = tag;
    }

    /** An empty image {@code layout:tag} in {@code dir/layout} (the layout may already hold other tags). */
    public static LayeredImage create(Path dir, String tag) throws IOException, InterruptedException {
        Path layout = dir.resolve("layout");
        if (!Files.exists(layout.resolve("oci-layout"))) {
            OciTools.run(OciTools.UMOCI.toString(), "init", "--layout", layout.toString());
        }
        OciTools.run(OciTools.UMOCI.toString(), "new", "--image", layout + ":" + tag);
        Path bundle = dir.resolve("bundle-" + tag);
        OciTools.run(OciTools.UMOCI.toString(), "unpack", "--image", layout + ":" + tag, bundle.toString());
        return new LayeredImage(layout, bundle, tag);
    }

    public Path layout() {
        return layout;
    }

    /** {@code oci:<layout>:<tag>} for skopeo. */
    public String ociRef() {
        return "oci:" + layout + ":" + tag;
    }

    public Path rootfs() {
        return bundle.resolve("rootfs");
    }

    /** Applies {@code change} to the rootfs and commits the difference as one layer. */
    public LayeredImage layer(RootfsChange change) throws IOException, InterruptedException {
        change.apply(rootfs());
        OciTools.run(OciTools.UMOCI.toString(), "repack", "--refresh-bundle", "--image", layout + ":" + tag,
                bundle.toString());
        return this;
    }

    /** Appends a layer tar (plain or gzip) as is; the bundle is unpacked again to follow it. */
    public LayeredImage rawLayer(Path tar) throws IOException, InterruptedException {
        OciTools.run(OciTools.UMOCI.toString(), "raw", "add-layer", "--image", layout + ":" + tag, tar.toString());
        deleteTree(bundle);
        OciTools.run(OciTools.UMOCI.toString(), "unpack", "--image", layout + ":" + tag, bundle.toString());
        return this;
    }

    /** Sets cmd, env, architecture and os linux, then garbage-collects the layout. */
    public LayeredImage config(String architecture) throws IOException, InterruptedException {
        OciTools.run(OciTools.UMOCI.toString(), "config", "--image", layout + ":" + tag, "--config.cmd", "/bin/sh",
                "--config.env", "PATH=/bin", "--architecture", architecture, "--os", "linux");
        OciTools.run(OciTools.UMOCI.toString(), "gc", "--layout", layout.toString());
        return this;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
