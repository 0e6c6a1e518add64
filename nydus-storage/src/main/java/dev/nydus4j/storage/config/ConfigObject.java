package dev.nydus4j.storage.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One JSON/TOML object of a config document being read: typed getters that remember which keys were read, and
 * {@link #finish()} that warns about every key nobody read, with its path and a did-you-mean suggestion. As in
 * upstream (CONFIG.md 1: unknown keys are ignored at every level), such a key does not fail the config: upstream's
 * own tools write keys this build does not know (e.g. {@code device.external_backend}).
 */
final class ConfigObject {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConfigObject.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final String source;
    private final String path;
    private final ObjectNode node;
    private final Set<String> known = new HashSet<>();

    ConfigObject(String source, String path, JsonNode node) {
        this.source = source;
        this.path = path;
        if (node == null || !node.isObject()) {
            throw error(path, "must be an object, found " + describe(node));
        }
        this.node = (ObjectNode) node;
    }

    String path() {
        return path;
    }

    boolean has(String key) {
        known.add(key);
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** Marks keys that are accepted and deliberately ignored (legacy no-ops). */
    void ignore(String... keys) {
        known.addAll(List.of(keys));
    }

    String string(String key, String def) {
        JsonNode v = get(key);
        if (v == null) {
            return def;
        }
        if (!v.isTextual()) {
            throw error(join(key), "must be a string, found " + describe(v));
        }
        return v.asText();
    }

    boolean bool(String key, boolean def) {
        JsonNode v = get(key);
        if (v == null) {
            return def;
        }
        if (!v.isBoolean()) {
            throw error(join(key), "must be a boolean (true/false), found " + describe(v));
        }
        return v.asBoolean();
    }

    long uint(String key, long def, long max) {
        JsonNode v = get(key);
        if (v == null) {
            return def;
        }
        if (!v.isIntegralNumber() || v.asLong() < 0 || !v.canConvertToLong()) {
            throw error(join(key), "must be a non-negative integer, found " + describe(v));
        }
        long x = v.asLong();
        if (x > max) {
            throw error(join(key), "must be at most " + max + ", found " + x);
        }
        return x;
    }

    ConfigObject object(String key) {
        JsonNode v = get(key);
        return v == null ? null : new ConfigObject(source, join(key), v);
    }

    List<String> stringList(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            throw error(join(key), "must be an array of strings, found " + describe(v));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw error(join(key) + "[" + i + "]", "must be a string, found " + describe(v.get(i)));
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    JsonNode raw(String key) {
        return get(key);
    }

    /** The whole object as plain Java values (for backend tables bound later by their provider). */
    @SuppressWarnings("unchecked")
    Map<String, Object> asMap() {
        known.addAll(fieldNames());
        return MAPPER.convertValue(node, LinkedHashMap.class);
    }

    /** Logs a warning for every key that was not read (ignored, as upstream does). */
    void finish() {
        for (String w : unknownKeys()) {
            LOG.warn(w);
        }
    }

    /** One message per key that was not read: path, did-you-mean and the keys known here. */
    List<String> unknownKeys() {
        List<String> out = new ArrayList<>();
        for (String k : fieldNames()) {
            if (!known.contains(k)) {
                String hint = suggestion(k);
                out.add("nydusd config " + source + ": ignoring unknown key '" + join(k) + "'"
                        + (hint == null ? "" : " (did you mean '" + hint + "'?)") + "; known keys here: "
                        + known.stream().sorted().toList());
            }
        }
        return out;
    }

    ConfigException error(String at, String what) {
        return new ConfigException("invalid nydusd config " + source + ": '" + at + "' " + what);
    }

    private JsonNode get(String key) {
        known.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private List<String> fieldNames() {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    private String join(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private String suggestion(String unknown) {
        return KeySuggestion.closest(unknown, known).orElse(null);
    }

    private static String describe(JsonNode n) {
        if (n == null || n.isNull()) {
            return "nothing";
        }
        return n.getNodeType().name().toLowerCase() + " " + (n.isContainerNode() ? "" : n.toString());
    }
}
