package dev.nydus4j.api.config;

/** The optional {@code overlay} section: a writable layer over the image. */
public record OverlayConfig(String upperDir, String workDir) {
}
