package dev.nydus4j.cli.image;

/** A merge found layers that cannot be overlaid (upstream exits with status 2 for this). */
final class InconsistentFilesystemException extends RuntimeException {
    InconsistentFilesystemException(String message, Throwable cause) {
        super(message, cause);
    }
}
