package dev.nydus4j.backend.registry;

import java.io.IOException;

/** A registry answered with an error status. Messages never contain credentials. */
public class RegistryStatusException extends IOException {
    private final int status;

    public RegistryStatusException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The HTTP status code. */
    public int status() {
        return status;
    }
}
