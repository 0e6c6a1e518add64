package dev.nydus4j.storage.config;

import java.util.Collection;
import java.util.Comparator;
import java.util.Optional;

/** "Did you mean" for a misspelt config key: the closest known key by edit distance, if it is close enough. */
public final class KeySuggestion {
    private KeySuggestion() {
    }

    /** The known key nearest to {@code unknown}, when within a third of its length (at least 2) or a prefix. */
    public static Optional<String> closest(String unknown, Collection<String> known) {
        return known.stream()
                .filter(k -> distance(k, unknown) <= Math.max(2, unknown.length() / 3)
                        || k.startsWith(unknown) || unknown.startsWith(k))
                .min(Comparator.comparingInt(k -> distance(k, unknown)));
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int c = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + c);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
