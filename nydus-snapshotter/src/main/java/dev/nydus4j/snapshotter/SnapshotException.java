package dev.nydus4j.snapshotter;

/**
 * A snapshot operation failed in a way containerd distinguishes (SNAPSHOTTER.md 1.3); the gRPC layer maps
 * {@link #code()} to a status code once.
 */
final class SnapshotException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** containerd's error classes, as they travel as gRPC status codes. */
    enum Code { NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, INVALID_ARGUMENT, UNAVAILABLE }

    private final Code code;

    SnapshotException(Code code, String message) {
        super(message);
        this.code = code;
    }

    SnapshotException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    Code code() {
        return code;
    }

    static SnapshotException notFound(String what) {
        return new SnapshotException(Code.NOT_FOUND, what + ": not found");
    }
}
