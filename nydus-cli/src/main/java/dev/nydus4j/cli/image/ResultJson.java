package dev.nydus4j.cli.image;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.nydus4j.cli.VersionInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The {@code --output-json} document of create, merge and check (API spec 4.9). Converters read {@code blobs}; the
 * other keys are kept for upstream parity.
 */
record ResultJson(@JsonProperty("version") String version,
                  @JsonProperty("bootstrap") String bootstrap,
                  @JsonProperty("blobs") List<String> blobs,
                  @JsonProperty("external_bootstrap") String externalBootstrap,
                  @JsonProperty("external_blobs") List<String> externalBlobs,
                  @JsonProperty("trace") Map<String, Object> trace,
                  @JsonProperty("fs_version") String fsVersion,
                  @JsonProperty("compressor") String compressor) {

    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static ResultJson of(Path bootstrap, List<String> blobs, Map<String, Object> trace, int fsVersion, String compressor) {
        return new ResultJson(VersionInfo.jsonVersion(), bootstrap == null ? "" : bootstrap.toString(), List.copyOf(blobs),
                "", List.of(), trace, Integer.toString(fsVersion), compressor);
    }

    void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        MAPPER.writeValue(file.toFile(), this);
    }
}
