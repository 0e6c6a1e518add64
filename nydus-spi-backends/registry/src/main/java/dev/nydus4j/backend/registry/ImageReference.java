package dev.nydus4j.backend.registry;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A parsed image reference as docker normalises it: {@code ubuntu} is {@code index.docker.io/library/ubuntu:latest},
 * {@code localhost:5000/a/b:tag} keeps its host, {@code name@sha256:<hex>} pins a digest.
 *
 * @param host       registry host[:port]; Docker Hub is {@code index.docker.io}
 * @param repository repository path, e.g. {@code library/ubuntu}
 * @param tag        tag, empty when only a digest is given
 * @param digest     {@code sha256:<hex>} or empty
 */
public record ImageReference(String host, String repository, String tag, String digest) {
    /** Docker Hub's API host; the short names {@code docker.io} and {@code registry-1.docker.io} map to it. */
    public static final String DOCKER_HUB = "index.docker.io";
    private static final Pattern REPO = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile("[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}");

    public ImageReference {
        Objects.requireNonNull(host, "host is null");
        Objects.requireNonNull(repository, "repository is null");
        tag = tag == null ? "" : tag;
        digest = digest == null ? "" : digest;
        if (tag.isEmpty() && digest.isEmpty()) {
            throw new IllegalArgumentException("image reference needs a tag or a digest");
        }
    }

    /** Parses {@code [host[:port]/]path[:tag][@digest]}. */
    public static ImageReference parse(String reference) {
        Objects.requireNonNull(reference, "reference is null");
        String rest = reference.trim();
        if (rest.isEmpty()) {
            throw new IllegalArgumentException("empty image reference");
        }
        String digest = "";
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = rest.substring(at + 1);
            rest = rest.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw new IllegalArgumentException("invalid digest '" + digest + "' in image reference '" + reference
                        + "'; expected e.g. sha256:<64 hex>");
            }
        }
        String host = DOCKER_HUB;
        int slash = rest.indexOf('/');
        if (slash > 0) {
            String first = rest.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                host = first;
                rest = rest.substring(slash + 1);
            }
        }
        String tag = "";
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw new IllegalArgumentException("invalid tag '" + tag + "' in image reference '" + reference + "'");
            }
        }
        if (host.equals("docker.io") || host.equals("registry-1.docker.io")) {
            host = DOCKER_HUB;
        }
        if (host.equals(DOCKER_HUB) && !rest.contains("/")) {
            rest = "library/" + rest;
        }
        if (!REPO.matcher(rest).matches()) {
            throw new IllegalArgumentException("invalid repository '" + rest + "' in image reference '" + reference
                    + "': lowercase letters, digits and separators only");
        }
        if (tag.isEmpty() && digest.isEmpty()) {
            tag = "latest";
        }
        return new ImageReference(host, rest, tag, digest);
    }

    /** What to put in {@code /v2/<repo>/manifests/<reference>}: the digest if pinned, else the tag. */
    public String manifestReference() {
        return digest.isEmpty() ? tag : digest;
    }

    @Override
    public String toString() {
        return host + "/" + repository + (tag.isEmpty() ? "" : ":" + tag) + (digest.isEmpty() ? "" : "@" + digest);
    }
}
