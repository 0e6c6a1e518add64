package dev.nydus4j.rafs;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * A map from {@code long} keys to non-null values without boxing (open addressing, linear probing), for the
 * tens of thousands of inode numbers and nids an image open indexes: no {@code Long} and no map node per entry, and
 * a lookup is a hash and a probe. Not thread-safe while being filled; once filled and safely published (e.g. through
 * a final field), concurrent reads are safe. Internal to the RAFS reader; public only for the v6 package.
 *
 * @param <V> value type
 */
public final class LongHashMap<V> {
    private long[] keys;
    private Object[] values;
    private int size;

    public LongHashMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, Math.min(expected, 1 << 28)) * 2 - 1) << 1; // power of two, load factor <= 1/2
        keys = new long[cap];
        values = new Object[cap];
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L; // Fibonacci hashing spreads consecutive and strided keys
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** The value of {@code key}, or null. */
    @SuppressWarnings("unchecked")
    public V get(long key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) {
                return null;
            }
            if (keys[i] == key) {
                return (V) v;
            }
        }
    }

    /** Maps {@code key} to {@code value} (not null); returns the previous value or null. */
    @SuppressWarnings("unchecked")
    public V put(long key, V value) {
        if (value == null) {
            throw new NullPointerException("null value for key " + key);
        }
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) {
                keys[i] = key;
                values[i] = value;
                size++;
                return null;
            }
            if (keys[i] == key) {
                values[i] = value;
                return (V) v;
            }
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new Object[oldValues.length * 2];
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldValues[j] != null) {
                int i = slot(oldKeys[j], mask);
                while (values[i] != null) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                values[i] = oldValues[j];
            }
        }
    }

    public int size() {
        return size;
    }

    /** All keys, ascending. */
    public long[] sortedKeys() {
        long[] out = new long[size];
        int n = 0;
        for (int i = 0; i < keys.length; i++) {
            if (values[i] != null) {
                out[n++] = keys[i];
            }
        }
        Arrays.sort(out);
        return out;
    }

    /** Calls {@code action} with every value (in no particular order). */
    @SuppressWarnings("unchecked")
    public void forEachValue(Consumer<? super V> action) {
        for (Object v : values) {
            if (v != null) {
                action.accept((V) v);
            }
        }
    }
}
