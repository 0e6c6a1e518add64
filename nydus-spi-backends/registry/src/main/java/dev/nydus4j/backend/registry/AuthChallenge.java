package dev.nydus4j.backend.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One {@code WWW-Authenticate} challenge: scheme plus auth-params, parsed as RFC 7235 (quoted strings with
 * backslash escapes), unlike upstream's split on {@code ",} which mangles values containing it.
 *
 * @param scheme lower-case scheme, e.g. {@code basic} or {@code bearer}
 * @param params lower-case parameter names to values
 */
record AuthChallenge(String scheme, Map<String, String> params) {

    AuthChallenge {
        params = Map.copyOf(params);
    }

    boolean isBasic() {
        return "basic".equals(scheme);
    }

    boolean isBearer() {
        return "bearer".equals(scheme);
    }

    String param(String name) {
        return params.getOrDefault(name, "");
    }

    /** Parses the first challenge of a header value; empty when the value is blank or malformed. */
    static Optional<AuthChallenge> parse(String header) {
        if (header == null) {
            return Optional.empty();
        }
        String s = header.trim();
        int sp = 0;
        while (sp < s.length() && isToken(s.charAt(sp))) {
            sp++;
        }
        if (sp == 0) {
            return Optional.empty();
        }
        String scheme = s.substring(0, sp).toLowerCase(Locale.ROOT);
        Map<String, String> params = new LinkedHashMap<>();
        int i = sp;
        while (i < s.length()) {
            i = skip(s, i, " \t,");
            int nameStart = i;
            while (i < s.length() && isToken(s.charAt(i))) {
                i++;
            }
            if (i == nameStart) {
                break;
            }
            String name = s.substring(nameStart, i).toLowerCase(Locale.ROOT);
            i = skip(s, i, " \t");
            if (i >= s.length() || s.charAt(i) != '=') {
                // a token68 or a second challenge follows: registries send one challenge, stop here
                break;
            }
            i = skip(s, i + 1, " \t");
            StringBuilder value = new StringBuilder();
            if (i < s.length() && s.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < s.length()) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < s.length()) {
                        value.append(s.charAt(i++));
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    return Optional.empty();
                }
            } else {
                while (i < s.length() && s.charAt(i) != ',') {
                    value.append(s.charAt(i++));
                }
            }
            params.putIfAbsent(name, value.toString().trim());
        }
        return Optional.of(new AuthChallenge(scheme, params));
    }

    private static int skip(String s, int i, String chars) {
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        return i;
    }

    private static boolean isToken(char c) {
        return c > 32 && c < 127 && "()<>@,;:\\\"/[]?={} \t".indexOf(c) < 0;
    }
}
