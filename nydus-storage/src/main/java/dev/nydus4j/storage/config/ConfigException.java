package dev.nydus4j.storage.config;

/** A nydusd configuration is malformed; the message names the source, the key path and what is wrong. */
public class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
