package dev.nydus4j.snapshotter;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.databind.deser.std.FromStringDeserializer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A JSON document kept crash-safe on disk: every save writes a temp file, forces it, renames it over the old one
 * atomically and forces the directory, so a crash leaves either the old or the new state, never a torn one.
 * Loads are bounded by {@link #MAX_BYTES}. Not thread-safe; owners serialize saves.
 */
final class StateFile<T> {
    /** Upper bound for a state file; far above tens of thousands of snapshots. */
    static final long MAX_BYTES = 256L << 20;
    static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new SimpleModule("instant-as-iso8601")
                    .addSerializer(java.time.Instant.class, ToStringSerializer.instance)
                    .addDeserializer(java.time.Instant.class, new InstantDeserializer()))
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** ISO-8601 instants ({@link java.time.Instant#toString()}), without pulling in jackson-datatype-jsr310. */
    private static final class InstantDeserializer extends FromStringDeserializer<java.time.Instant> {
        private static final long serialVersionUID = 1L;

        InstantDeserializer() {
            super(java.time.Instant.class);
        }

        @Override
        protected java.time.Instant _deserialize(String value, com.fasterxml.jackson.databind.DeserializationContext ctx) {
            return java.time.Instant.parse(value);
        }
    }

    private final Path file;
    private final Class<T> type;

    StateFile(Path file, Class<T> type) {
        this.file = file;
        this.type = type;
    }

    Path path() {
        return file;
    }

    /** Reads the state, or null when the file does not exist yet. */
    T load() throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException("state file " + file + " is " + size + " bytes, more than the limit of "
                    + MAX_BYTES + "; it is not ours or it is corrupt");
        }
        try {
            return JSON.readValue(Files.readAllBytes(file), type);
        } catch (IOException e) {
            throw new IOException("cannot read state file " + file + ": " + e.getMessage()
                    + " (move it away to start with an empty state)", e);
        }
    }

    void save(T state) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(state);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("file system of " + file + " cannot rename atomically", e);
        }
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true); // make the rename itself durable
        }
    }
}
