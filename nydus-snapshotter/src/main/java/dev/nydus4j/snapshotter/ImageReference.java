package dev.nydus4j.snapshotter;

/**
 * The registry host and repository of an image reference such as {@code 127.0.0.1:5000/e2e/busybox:latest} or
 * {@code busybox@sha256:…}, normalized as Docker does ({@code docker.io}, {@code library/}); Docker Hub's API host
 * is {@code index.docker.io} as upstream's snapshotter uses. Immutable.
 */
record ImageReference(String host, String repo) {
    private static final int MAX_REF_CHARS = 4096;

    static ImageReference parse(String ref) {
        if (ref == null || ref.isBlank() || ref.length() > MAX_REF_CHARS) {
            throw new IllegalArgumentException("bad image reference '" + ref + "'");
        }
        String name = ref;
        int at = name.indexOf('@');
        if (at >= 0) {
            name = name.substring(0, at);
        }
        int colon = name.lastIndexOf(':');
        if (colon > name.lastIndexOf('/')) {
            name = name.substring(0, colon);
        }
        String host = "docker.io";
        int slash = name.indexOf('/');
        if (slash > 0) {
            String first = name.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                host = first;
                name = name.substring(slash + 1);
            }
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("image reference '" + ref + "' names no repository");
        }
        if (host.equals("docker.io")) {
            host = "index.docker.io";
            if (!name.contains("/")) {
                name = "library/" + name;
            }
        }
        return new ImageReference(host, name);
    }
}
