package dev.nydus4j.fuse;

import dev.nydus4j.storage.backend.BackendRegistry;
import dev.nydus4j.storage.cache.CacheRegistry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The data-path warm-up reads its whole sample through backend, cache and digest check, and leaves nothing. */
class DataPathWarmUpTest {
    @Test
    void readsTheSampleAndRemovesItsDirectory() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        long before = leftovers(tmp);
        assertThat(DataPathWarmUp.run(BackendRegistry.discover(), CacheRegistry.discover())).isEqualTo(64 << 10);
        assertThat(leftovers(tmp)).isEqualTo(before);
    }

    private static long leftovers(Path tmp) throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> p.getFileName().toString().startsWith("nydusd-warm-up-")).count();
        }
    }
}
