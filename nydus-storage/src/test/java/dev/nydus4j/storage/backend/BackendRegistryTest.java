package dev.nydus4j.storage.backend;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nydus4j.spi.BackendContext;
import dev.nydus4j.spi.BlobBackend;
import dev.nydus4j.spi.BlobBackendProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackendRegistryTest {
    private static final String ID = "a".repeat(64);
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void discoversLocalfsThroughServiceLoader() {
        assertThat(BackendRegistry.discover().types()).contains("localfs");
    }

    @Test
    void unknownTypeListsAvailableOnesAndTheArtifact() {
        assertThatThrownBy(() -> BackendRegistry.discover().provider("oss"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("No blob backend provider for type 'oss'; available: [localfs")
                .hasMessageContaining("Add the artifact");
    }

    @Test
    void duplicateProviderNamesBothClasses() {
        BackendRegistry r = BackendRegistry.discover();
        BlobBackendProvider<?> other = new BlobBackendProvider<Object>() {
            @Override
            public String type() {
                return "localfs";
            }

            @Override
            public Class<Object> configType() {
                return Object.class;
            }

            @Override
            public BlobBackend open(Object c, String id, BackendContext ctx) {
                throw new UnsupportedOperationException();
            }
        };
        assertThatThrownBy(() -> r.register(other))
                .hasMessageContaining("two blob backend providers for type 'localfs'")
                .hasMessageContaining("LocalfsBackendProvider");
    }

    @Test
    void unknownConfigKeyIsIgnoredAndItsWarningNamesItsPath() throws Exception {
        var node = json.readTree("{\"dir\":\"/tmp\",\"dri\":\"/x\"}");
        Object bound = BackendRegistry.discover().bindConfig("localfs", node, "device.backend.config");
        assertThat(bound.toString()).contains("/tmp");
        var e = org.assertj.core.api.Assertions.catchThrowableOfType(() -> new com.fasterxml.jackson.databind.ObjectMapper()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .treeToValue(node, bound.getClass()),
                com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException.class);
        String msg = BackendRegistry.unknownKeyMessage(BackendRegistry.discover().provider("localfs"), e,
                "device.backend.config");
        assertThat(msg).contains("unknown key 'device.backend.config.dri'").contains("did you mean 'dir'?")
                .contains("alt_dirs").doesNotContain("altDirs").doesNotContain("dev.nydus4j");
        // a wrong type is still an error
        assertThatThrownBy(() -> BackendRegistry.discover().bindConfig("localfs",
                json.readTree("{\"dir\":[1]}"), "device.backend.config"))
                .hasMessageContaining("invalid localfs backend config at 'device.backend.config.dir'");
    }

    @Test
    void legacyReadaheadKeysAreAccepted() throws Exception {
        var node = json.readTree("{\"dir\":\"/tmp\",\"readahead\":true,\"readahead_sec\":10}");
        assertThat(BackendRegistry.discover().bindConfig("localfs", node, "backend.localfs")).isNotNull();
    }

    @Test
    void missingDirAndBlobFileIsAClearError() throws Exception {
        var node = json.readTree("{}");
        assertThatThrownBy(() -> BackendRegistry.discover().bindConfig("localfs", node, "backend.localfs"))
                .hasMessageContaining("needs 'blob_file' or 'dir'");
    }

    @Test
    void readsFromDirThenAltDirs(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("main"));
        Path alt = Files.createDirectories(tmp.resolve("alt"));
        Files.writeString(alt.resolve(ID), "hello blob", StandardCharsets.UTF_8);
        Files.createFile(dir.resolve(ID)); // empty in dir: alt_dirs win
        var node = json.readTree("{\"dir\":\"" + dir + "\",\"alt_dirs\":[\"" + alt + "\"]}");
        try (BlobBackend b = BackendRegistry.discover().open("localfs", node, "backend.localfs", ID,
                BackendContext.simple("/"))) {
            assertThat(b.size()).isEqualTo(10);
            ByteBuffer buf = ByteBuffer.allocate(5);
            assertThat(b.read(buf, 6)).isEqualTo(4);
            assertThat(new String(buf.array(), 0, 4, StandardCharsets.UTF_8)).isEqualTo("blob");
            assertThat(b.read(ByteBuffer.allocate(3), 10)).isEqualTo(-1);
        }
    }

    @Test
    void missingBlobAndHostileIds(@TempDir Path tmp) throws Exception {
        var node = json.readTree("{\"dir\":\"" + tmp + "\"}");
        BackendRegistry r = BackendRegistry.discover();
        assertThatThrownBy(() -> r.open("localfs", node, "backend.localfs", ID, BackendContext.simple("/")))
                .isInstanceOf(FileNotFoundException.class).hasMessageContaining(ID);
        assertThatThrownBy(() -> r.open("localfs", node, "backend.localfs", "../etc/passwd",
                BackendContext.simple("/"))).hasMessageContaining("invalid blob id");
    }
}
