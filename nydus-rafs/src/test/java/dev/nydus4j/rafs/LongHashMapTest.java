package dev.nydus4j.rafs;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LongHashMapTest {

    @Test
    void agreesWithHashMapOnRandomAndStridedKeys() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        LongHashMap<String> m = new LongHashMap<>(4);
        Map<Long, String> ref = new HashMap<>();
        for (int i = 0; i < 50_000; i++) {
            // nids are multiples of small strides; mix in negative, zero and extreme keys
            long k = switch (i % 4) {
                case 0 -> (long) rnd.nextInt(40_000) * 2;
                case 1 -> rnd.nextLong();
                case 2 -> rnd.nextInt(64) - 32;
                default -> i % 8 == 3 ? Long.MIN_VALUE + rnd.nextInt(4) : Long.MAX_VALUE - rnd.nextInt(4);
            };
            String v = "v" + i;
            assertThat(m.put(k, v)).as("seed %d key %d", seed, k).isEqualTo(ref.put(k, v));
        }
        assertThat(m.size()).isEqualTo(ref.size());
        ref.forEach((k, v) -> assertThat(m.get(k)).isEqualTo(v));
        for (int i = 0; i < 10_000; i++) {
            long k = rnd.nextLong();
            assertThat(m.get(k)).isEqualTo(ref.get(k));
        }
        long[] keys = m.sortedKeys();
        assertThat(keys).containsExactly(ref.keySet().stream().sorted().mapToLong(Long::longValue).toArray());
        int[] count = {0};
        m.forEachValue(v -> count[0]++);
        assertThat(count[0]).isEqualTo(ref.size());
    }

    @Test
    void rejectsNullValues() {
        LongHashMap<String> m = new LongHashMap<>(0);
        assertThatThrownBy(() -> m.put(1, null)).isInstanceOf(NullPointerException.class);
        assertThat(m.get(1)).isNull();
        assertThat(m.size()).isZero();
    }
}
