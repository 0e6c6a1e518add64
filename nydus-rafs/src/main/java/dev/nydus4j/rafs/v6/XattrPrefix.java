package dev.nydus4j.rafs.v6;

import java.nio.charset.StandardCharsets;

/** The EROFS xattr name-index table RAFS accepts (spec 3.9). The stored name is the full name minus the prefix. */
enum XattrPrefix {
    USER(1, "user.", false),
    POSIX_ACL_ACCESS(2, "system.posix_acl_access", true),
    POSIX_ACL_DEFAULT(3, "system.posix_acl_default", true),
    TRUSTED(4, "trusted.", false),
    SECURITY(6, "security.", false);

    final int index;
    final String prefix;
    /** The prefix is the whole name (suffix must be empty). */
    final boolean exact;

    XattrPrefix(int index, String prefix, boolean exact) {
        this.index = index;
        this.prefix = prefix;
        this.exact = exact;
    }

    static XattrPrefix forIndex(int index) {
        for (XattrPrefix p : values()) {
            if (p.index == index) {
                return p;
            }
        }
        return null;
    }

    /** The prefix for a full xattr name, or null when RAFS cannot store it. */
    static XattrPrefix forName(String name) {
        for (XattrPrefix p : values()) {
            if (p.exact ? name.equals(p.prefix) : name.startsWith(p.prefix) && name.length() > p.prefix.length()) {
                return p;
            }
        }
        return null;
    }

    byte[] suffix(String name) {
        return name.substring(prefix.length()).getBytes(StandardCharsets.UTF_8);
    }

    String fullName(byte[] suffix) {
        return prefix + new String(suffix, StandardCharsets.UTF_8);
    }
}
