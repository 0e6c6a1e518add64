package dev.nydus4j.rafs.builder;

import java.nio.charset.StandardCharsets;

/** Which extended attribute names RAFS can store (spec 3.9: fixed prefix table, name ≤ 255, value ≤ 65535). */
final class XattrNames {
    static final int MAX_VALUE_BYTES = 65535;
    private static final int MAX_SUFFIX_BYTES = 255;
    private static final String[] PREFIXES = {"user.", "trusted.", "security."};

    private XattrNames() {
    }

    static boolean storable(String name) {
        if (name.equals("system.posix_acl_access") || name.equals("system.posix_acl_default")) {
            return true;
        }
        for (String p : PREFIXES) {
            if (name.startsWith(p) && name.length() > p.length()) {
                return name.substring(p.length()).getBytes(StandardCharsets.UTF_8).length <= MAX_SUFFIX_BYTES;
            }
        }
        return false;
    }
}
