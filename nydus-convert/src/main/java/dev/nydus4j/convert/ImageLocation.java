package dev.nydus4j.convert;

import dev.nydus4j.backend.registry.ImageReference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where an image lives, as written on the command line: a registry reference ({@code host/repo[:tag|@digest]}),
 * {@code oci:DIR[:tag]} (or a directory holding an {@code oci-layout} file), or {@code docker-archive:FILE[:tag]}.
 *
 * @param kind      which kind of store
 * @param text      the original string (recorded in the source-reference annotation)
 * @param path      layout directory or archive file, null for registries
 * @param tag       tag inside a layout / archive, or null
 * @param registry  parsed registry reference, null otherwise
 */
public record ImageLocation(Kind kind, String text, Path path, String tag, ImageReference registry) {
    public enum Kind { REGISTRY, OCI_LAYOUT, DOCKER_ARCHIVE, OCI_ARCHIVE }

    public ImageLocation {
        Objects.requireNonNull(kind, "kind is null");
        Objects.requireNonNull(text, "text is null");
    }

    public static ImageLocation parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty image reference");
        }
        if (text.startsWith("oci:")) {
            String[] pt = splitTag(text.substring(4));
            return new ImageLocation(Kind.OCI_LAYOUT, text, Path.of(pt[0]), pt[1], null);
        }
        if (text.startsWith("oci-archive:")) {
            String[] pt = splitFileTag(text.substring("oci-archive:".length()));
            return new ImageLocation(Kind.OCI_ARCHIVE, text, Path.of(pt[0]), pt[1], null);
        }
        if (text.startsWith("docker-archive:")) {
            String[] pt = splitTag(text.substring("docker-archive:".length()));
            return new ImageLocation(Kind.DOCKER_ARCHIVE, text, Path.of(pt[0]), pt[1], null);
        }
        if ((text.startsWith("/") || text.startsWith(".")) && Files.isDirectory(Path.of(splitTag(text)[0]))) {
            String[] pt = splitTag(text);
            return new ImageLocation(Kind.OCI_LAYOUT, text, Path.of(pt[0]), pt[1], null);
        }
        return new ImageLocation(Kind.REGISTRY, text, null, null, ImageReference.parse(text));
    }

    /**
     * {@code --source-archive} / {@code --target-archive}: an OCI layout tar; {@code ref} (the {@code --source} or
     * {@code --target} reference, may be null) names the image inside: a source is matched against the
     * {@code org.opencontainers.image.ref.name} annotations by tag or whole reference, a target is stored under the
     * reference's tag ({@code latest} without one).
     */
    public static ImageLocation archive(Path file, String ref, boolean target) {
        String name = ref == null || ref.isBlank() ? null : ref;
        if (target && name != null) {
            try {
                ImageReference r = ImageReference.parse(name);
                name = r.tag().isEmpty() ? "latest" : r.tag();
            } catch (IllegalArgumentException e) {
                // not a registry reference: use it as the name as given
            }
        }
        return new ImageLocation(Kind.OCI_ARCHIVE, "oci-archive:" + file + (name == null ? "" : ":" + name), file,
                name, null);
    }

    /**
     * {@code FILE[:name]} where the name may itself hold colons ({@code app:v1}, as skopeo writes it): the file is
     * the shortest prefix ending before a ':' that exists, else the last ':' splits.
     */
    private static String[] splitFileTag(String s) {
        for (int i = s.indexOf(':'); i > 0; i = s.indexOf(':', i + 1)) {
            if (Files.isRegularFile(Path.of(s.substring(0, i)))) {
                return new String[]{s.substring(0, i), s.substring(i + 1)};
            }
        }
        return Files.exists(Path.of(s)) ? new String[]{s, null} : splitTag(s);
    }

    /** {@code DIR[:tag]}: the tag is what follows the last ':' after the last '/'. */
    private static String[] splitTag(String s) {
        int slash = s.lastIndexOf('/');
        int colon = s.lastIndexOf(':');
        if (colon > slash && colon > 0) {
            return new String[]{s.substring(0, colon), s.substring(colon + 1)};
        }
        return new String[]{s, null};
    }

    /** This location with another tag (for {@code --target-suffix}); digests cannot take a suffix. */
    public ImageLocation withTagSuffix(String suffix) {
        switch (kind) {
            case REGISTRY: {
                if (registry.tag().isEmpty()) {
                    throw new IllegalArgumentException("--target-suffix needs a tagged source, not a digest: " + text);
                }
                String tagged = registry.host() + "/" + registry.repository() + ":"
                        + registry.tag() + suffix;
                return parse(tagged);
            }
            case OCI_LAYOUT:
                return new ImageLocation(kind, "oci:" + path + ":" + (tag == null ? "latest" : tag) + suffix, path,
                        (tag == null ? "latest" : tag) + suffix, null);
            default:
                throw new IllegalArgumentException("--target-suffix cannot be used with " + text);
        }
    }

    /** Opens the store; {@code create} makes a missing OCI layout (targets). */
    ImageStore open(boolean insecure, boolean plainHttp, boolean create, int pushRetries, Duration retryDelay)
            throws IOException {
        switch (kind) {
            case REGISTRY:
                return RegistryStore.open(registry, insecure, plainHttp, pushRetries, retryDelay);
            case OCI_LAYOUT:
                return OciLayoutStore.open(path, tag == null ? "latest" : tag, create);
            case OCI_ARCHIVE:
                return create ? OciArchiveTarget.create(path, tag == null ? "latest" : tag)
                        : OciArchiveStore.open(path, tag);
            default:
                if (create) {
                    throw new IllegalArgumentException("docker-archive:" + path + " cannot be a target: a docker"
                            + " archive holds Docker layers only; write the nydus image to a registry, oci:DIR[:tag]"
                            + " or oci-archive:FILE[:tag]");
                }
                if (!Files.isRegularFile(path)) {
                    throw new java.nio.file.NoSuchFileException(path.toString(), null, "docker-archive file not found");
                }
                return DockerArchiveStore.open(path, tag);
        }
    }

    @Override
    public String toString() {
        return text;
    }
}
