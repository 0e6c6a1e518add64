package dev.nydus4j.snapshotter;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * containerd's filter syntax for List (Walk), over the fields of a snapshot Info: {@code name}, {@code parent},
 * {@code kind} and {@code labels.<key>} (keys may be quoted, e.g. {@code labels."containerd.io/snapshot.ref"}).
 * A filter is a comma-separated conjunction of selectors {@code field}, {@code field==v}, {@code field!=v} or
 * {@code field~=regex}; several filters match when any does. containerd re-checks results itself, so this errs
 * on matching. Immutable.
 */
final class ListFilter {
    private static final int MAX_FILTER_CHARS = 16 * 1024;

    private record Selector(List<String> field, String op, String value, Pattern regex) {
    }

    private final List<List<Selector>> alternatives;

    private ListFilter(List<List<Selector>> alternatives) {
        this.alternatives = alternatives;
    }

    /** Parses {@code filters}; an empty list matches everything. */
    static ListFilter parse(List<String> filters) {
        List<List<Selector>> alts = new ArrayList<>();
        for (String f : filters) {
            if (f.length() > MAX_FILTER_CHARS) {
                throw new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                        "filter longer than " + MAX_FILTER_CHARS + " characters");
            }
            if (!f.isBlank()) {
                alts.add(new Parser(f).conjunction());
            }
        }
        return new ListFilter(alts);
    }

    boolean matches(SnapshotRecord r) {
        if (alternatives.isEmpty()) {
            return true;
        }
        for (List<Selector> all : alternatives) {
            if (all.stream().allMatch(s -> matches(s, r))) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(Selector s, SnapshotRecord r) {
        String v = field(s.field(), r);
        switch (s.op()) {
            case "":
                return v != null && !v.isEmpty();
            case "==":
                return s.value().equals(v == null ? "" : v);
            case "!=":
                return !s.value().equals(v == null ? "" : v);
            default:
                return v != null && s.regex().matcher(v).find();
        }
    }

    private static String field(List<String> path, SnapshotRecord r) {
        String head = path.get(0);
        switch (head) {
            case "name":
                return r.key();
            case "parent":
                return r.parent();
            case "kind":
                return r.kind().name().toLowerCase(java.util.Locale.ROOT);
            case "labels":
                return path.size() < 2 ? null : r.labels().get(String.join(".", path.subList(1, path.size())));
            default:
                return null;
        }
    }

    /** Recursive-descent parser over one filter string. */
    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        List<Selector> conjunction() {
            List<Selector> out = new ArrayList<>();
            do {
                skipSpaces();
                out.add(selector());
                skipSpaces();
            } while (accept(","));
            if (pos != s.length()) {
                throw error("unexpected '" + s.charAt(pos) + "'");
            }
            return out;
        }

        private Selector selector() {
            List<String> field = new ArrayList<>();
            field.add(token());
            while (accept(".")) {
                field.add(token());
            }
            skipSpaces();
            String op = accept("==") ? "==" : accept("!=") ? "!=" : accept("~=") ? "~=" : "";
            if (op.isEmpty()) {
                return new Selector(field, op, null, null);
            }
            skipSpaces();
            String value = valueToken();
            Pattern regex = null;
            if (op.equals("~=")) {
                try {
                    regex = Pattern.compile(value);
                } catch (java.util.regex.PatternSyntaxException e) {
                    throw error("bad regular expression " + value);
                }
            }
            return new Selector(field, op, value, regex);
        }

        private String token() {
            if (pos < s.length() && (s.charAt(pos) == '"' || s.charAt(pos) == '`')) {
                return quoted();
            }
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || "_-/".indexOf(s.charAt(pos)) >= 0)) {
                pos++;
            }
            if (start == pos) {
                throw error("expected a field name");
            }
            return s.substring(start, pos);
        }

        private String valueToken() {
            if (pos < s.length() && (s.charAt(pos) == '"' || s.charAt(pos) == '`')) {
                return quoted();
            }
            int start = pos;
            while (pos < s.length() && s.charAt(pos) != ',') {
                pos++;
            }
            return s.substring(start, pos).trim();
        }

        private String quoted() {
            char q = s.charAt(pos++);
            StringBuilder b = new StringBuilder();
            while (pos < s.length() && s.charAt(pos) != q) {
                char c = s.charAt(pos++);
                if (c == '\\' && q == '"' && pos < s.length()) {
                    c = s.charAt(pos++);
                }
                b.append(c);
            }
            if (pos >= s.length()) {
                throw error("unterminated quote");
            }
            pos++;
            return b.toString();
        }

        private boolean accept(String t) {
            if (s.startsWith(t, pos)) {
                pos += t.length();
                return true;
            }
            return false;
        }

        private void skipSpaces() {
            while (pos < s.length() && s.charAt(pos) == ' ') {
                pos++;
            }
        }

        private SnapshotException error(String what) {
            return new SnapshotException(SnapshotException.Code.INVALID_ARGUMENT,
                    "bad filter " + s + " at offset " + pos + ": " + what);
        }
    }
}
