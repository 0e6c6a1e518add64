package dev.nydus4j.rafs;

import dev.nydus4j.api.DirEntry;
import dev.nydus4j.api.FileType;
import dev.nydus4j.api.InodeAttributes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Test helper: opens bootstrap bytes in direct mode (no blob data) and touches every structure through the public
 * API: each directory's entries and lookups, each inode's attributes, xattrs and symlink target (decoding an inode
 * also decodes its chunk list), the prefetch paths and the statfs figures. Returns the metadata as text.
 */
public final class DirectWalk {
    private DirectWalk() {
    }

    public static String walk(byte[] bootstrap, String resource) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (RafsImage fs = RafsImage.openDirect(bootstrap, resource, new DirectModeTest.NoChunks(), true)) {
            ArrayDeque<Long> dirs = new ArrayDeque<>();
            Set<Long> seen = new HashSet<>();
            dirs.add(fs.rootInode());
            seen.add(fs.rootInode());
            describe(fs, fs.rootInode(), sb);
            while (!dirs.isEmpty()) {
                long dir = dirs.poll();
                for (DirEntry e : fs.readdir(dir)) {
                    sb.append(dir).append('/').append(e.name()).append(" -> ").append(e.ino()).append('\n');
                    boolean utf8 = java.util.Arrays.equals(e.name().getBytes(StandardCharsets.UTF_8), e.rawName());
                    if (utf8 && fs.lookup(dir, e.name()).isEmpty()) { // lookup takes names as text
                        throw new AssertionError("readdir of " + dir + " lists " + e.name() + " but lookup misses it");
                    }
                    if (seen.add(e.ino())) {
                        describe(fs, e.ino(), sb);
                        if (e.type() == FileType.DIRECTORY) {
                            dirs.add(e.ino());
                        }
                    }
                }
            }
            sb.append("prefetch ").append(fs.prefetchPaths()).append('\n');
            sb.append(fs.stats()).append('\n');
        }
        return sb.toString();
    }

    private static void describe(RafsImage fs, long ino, StringBuilder sb) throws IOException {
        InodeAttributes a = fs.getattr(ino);
        sb.append(a).append('\n');
        for (String x : fs.listxattr(ino)) {
            sb.append("  ").append(x).append('=').append(HexFormat.of().formatHex(fs.getxattr(ino, x).orElseThrow()))
                    .append('\n');
        }
        if (a.isSymlink()) {
            sb.append("  -> ").append(HexFormat.of().formatHex(fs.readlink(ino))).append('\n');
        }
    }
}
