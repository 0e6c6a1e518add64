package dev.nydus4j.api;

import java.io.IOException;

/**
 * A bootstrap, blob or blob section is malformed. The message names the resource, the offset and what was
 * expected against what was found.
 */
public class CorruptImageException extends IOException {
    private final String resource;
    private final long offset;
    private final String detail;

    public CorruptImageException(String resource, long offset, String message) {
        super(format(resource, offset, message));
        this.resource = resource;
        this.offset = offset;
        this.detail = message;
    }

    public CorruptImageException(String resource, long offset, String message, Throwable cause) {
        super(format(resource, offset, message), cause);
        this.resource = resource;
        this.offset = offset;
        this.detail = message;
    }

    private static String format(String resource, long offset, String message) {
        return offset >= 0
                ? String.format("%s (resource=%s, offset=%d / 0x%x)", message, resource, offset, offset)
                : String.format("%s (resource=%s)", message, resource);
    }

    /** File or blob the problem was found in. */
    public String resource() {
        return resource;
    }

    /** What was expected against what was found, without the resource and offset. */
    public String detail() {
        return detail;
    }

    /** Byte offset of the problem, or -1 when not tied to one place. */
    public long offset() {
        return offset;
    }
}
