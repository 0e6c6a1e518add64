package dev.nydus4j.cli.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --prefetch-policy fs|blob|none}. With {@code fs} or {@code blob} the prefetch list is read from stdin until
 * EOF: one absolute path per line; other lines are ignored, as upstream does (a non-blank one with a warning that
 * names it, so a relative list does not silently give an image without prefetch).
 */
enum PrefetchPolicy {
    FS, BLOB, NONE;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PrefetchPolicy.class);

    /** Reads the prefetch patterns for this policy (nothing for NONE). */
    List<String> readPatterns(InputStream stdin) throws IOException {
        List<String> paths = new ArrayList<>();
        if (this == NONE) {
            return paths;
        }
        BufferedReader r = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
        for (String line = r.readLine(); line != null; line = r.readLine()) {
            String p = line.trim();
            if (p.startsWith("/")) {
                paths.add(normalize(p));
            } else if (!p.isEmpty()) {
                LOG.warn("prefetch list on stdin: '{}' is not an absolute path; ignored", p);
            }
        }
        return paths;
    }

    /** Collapses duplicate slashes and a trailing slash ("/a//b/" becomes "/a/b"; "/" stays). */
    static String normalize(String p) {
        String s = p.replaceAll("/+", "/");
        return s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
