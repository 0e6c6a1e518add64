package dev.nydus4j.convert;

import dev.nydus4j.rafs.builder.EndTrackingInputStream;
import dev.nydus4j.rafs.builder.TarEntries;

import dev.nydus4j.api.FileType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The root file system of a source image as {@code umoci unpack} would produce it, but kept in memory as metadata
 * plus content digests: layers are applied lowest first with OCI whiteouts ({@code .wh.NAME}, opaque
 * {@code .wh..wh..opq}) and hard links. Built independently of the nydus builder so that the checker compares
 * against a second implementation. Entry names are checked: absolute or {@code ..} paths are rejected.
 */
final class SourceRootfs {
    private static final String WH = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    private static final int MAX_ENTRIES = 4_000_000;

    /** Mutable state of one path while layers are applied. */
    private static final class Node {
        FsEntry entry;
        int layer;
        Object linkGroup;
    }

    private final TreeMap<String, Node> nodes = new TreeMap<>();

    SourceRootfs() {
        Node root = new Node();
        root.entry = new FsEntry("/", FileType.DIRECTORY, 0755, 0, 0, 0, 0, null, 0, Map.of(), null, 0, true);
        root.layer = -1;
        nodes.put("/", root);
    }

    /** Applies one layer (plain, gzip or zstd tar); {@code what} names it in errors. */
    void apply(InputStream layer, int layerIndex, String what) throws IOException {
        EndTrackingInputStream counted = new EndTrackingInputStream(decompressing(layer));
        TarArchiveInputStream tar = new TarArchiveInputStream(counted);
        long lastDataEnd = -1;
        int entries = 0;
        while (true) {
            TarArchiveEntry e;
            try {
                e = tar.getNextEntry();
            } catch (IOException ex) {
                if (counted.endsAfterCompleteEntry(lastDataEnd)) {
                    break; // umoci 0.4.7: no padding or end-of-archive blocks after the last entry's data
                }
                throw new IOException(what + ": broken tar stream after entry " + entries + " at byte "
                        + tar.getBytesRead() + ": " + ex.getMessage(), ex);
            }
            if (e == null) {
                break;
            }
            entries++;
            lastDataEnd = e.isSparse() ? -1 : tar.getBytesRead() + Math.max(0, e.getSize());
            String path = normalize(e.getName(), what);
            if (path == null) {
                continue;
            }
            String parent = parentOf(path);
            String base = path.substring(path.lastIndexOf('/') + 1);
            if (base.equals(OPAQUE)) {
                removeBelow(parent, layerIndex, false);
                continue;
            }
            if (base.startsWith(WH)) {
                String victim = (parent.equals("/") ? "" : parent) + "/" + base.substring(WH.length());
                removeBelow(victim, layerIndex, true);
                continue;
            }
            ensureParents(path, layerIndex);
            if (e.isLink()) {
                String target = normalize(e.getLinkName(), what);
                Node t = target == null ? null : nodes.get(target);
                // Linux links any non-directory: GNU ln of a symlink links the symlink itself, and umoci unpack
                // reproduces it (as do devices, fifos and sockets)
                if (t == null || t.entry.type() == FileType.DIRECTORY) {
                    throw new IOException(what + ": hard link " + path + " points to " + e.getLinkName()
                            + (t == null ? ", which does not exist in the image" : ", which is a directory"));
                }
                if (t.linkGroup == null) {
                    t.linkGroup = new Object();
                }
                removeBelow(path, Integer.MAX_VALUE, true);
                Node n = new Node();
                n.layer = layerIndex;
                n.linkGroup = t.linkGroup;
                FsEntry te = t.entry;
                n.entry = new FsEntry(path, te.type(), te.mode(), te.uid(), te.gid(), te.mtimeSec(), te.size(),
                        te.target(), te.rdev(), te.xattrs(), te.sha256(), 0, false);
                put(path, n);
                continue;
            }
            FileType type = TarEntries.type(e, what + " " + path);
            String sha = null;
            long size = 0;
            if (type == FileType.REGULAR) {
                size = e.getSize();
                sha = digest(tar);
            }
            Node existing = nodes.get(path);
            if (existing != null && !(type == FileType.DIRECTORY && existing.entry.type() == FileType.DIRECTORY)) {
                removeBelow(path, Integer.MAX_VALUE, true);
            }
            Node n = existing != null && type == FileType.DIRECTORY && existing.entry.type() == FileType.DIRECTORY
                    ? existing : new Node();
            n.layer = layerIndex;
            n.linkGroup = null;
            boolean dev = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
            n.entry = new FsEntry(path, type, e.getMode() & 07777, (int) e.getLongUserId(), (int) e.getLongGroupId(),
                    e.getModTime().toInstant().getEpochSecond(), size,
                    type == FileType.SYMLINK ? e.getLinkName() : null,
                    dev ? TarEntries.rdev(e.getDevMajor(), e.getDevMinor(), what + " " + path) : 0, xattrs(e), sha, 0, false);
            put(path, n);
        }
        // the end-of-archive blocks and padding are not part of any entry: read them for digest verification
        byte[] rest = new byte[8192];
        while (layer.read(rest) >= 0) {
            // drain
        }
    }

    private void put(String path, Node n) throws IOException {
        if (nodes.size() >= MAX_ENTRIES && !nodes.containsKey(path)) {
            throw new IOException("source image has more than " + MAX_ENTRIES + " paths; refusing to compare");
        }
        nodes.put(path, n);
    }

    /** Removes {@code path} (when {@code self}) and everything below it that came from layers below {@code layer}. */
    private void removeBelow(String path, int layer, boolean self) {
        String prefix = path.equals("/") ? "/" : path + "/";
        SortedMap<String, Node> sub = nodes.subMap(prefix, prefix + Character.MAX_VALUE);
        sub.entrySet().removeIf(en -> en.getValue().layer < layer && !en.getKey().equals("/"));
        if (self && !path.equals("/")) {
            Node n = nodes.get(path);
            if (n != null && n.layer < layer) {
                nodes.remove(path);
            }
        }
    }

    private void ensureParents(String path, int layer) throws IOException {
        String p = parentOf(path);
        while (!p.equals("/")) {
            Node n = nodes.get(p);
            if (n != null && n.entry.type() == FileType.DIRECTORY) {
                break;
            }
            if (n != null) {
                removeBelow(p, Integer.MAX_VALUE, true);
            }
            Node d = new Node();
            d.layer = layer;
            d.entry = new FsEntry(p, FileType.DIRECTORY, 0755, 0, 0, 0, 0, null, 0, Map.of(), null, 0, true);
            put(p, d);
            p = parentOf(p);
        }
    }

    /** Final entries, with the link counts of hard-link groups filled in. */
    SortedMap<String, FsEntry> entries() {
        Map<Object, Integer> counts = new java.util.HashMap<>();
        for (Node n : nodes.values()) {
            if (n.linkGroup != null) {
                counts.merge(n.linkGroup, 1, Integer::sum);
            }
        }
        TreeMap<String, FsEntry> out = new TreeMap<>();
        for (Node n : nodes.values()) {
            FsEntry e = n.entry;
            int nlink = e.type() == FileType.REGULAR ? (n.linkGroup == null ? 1 : counts.get(n.linkGroup)) : 0;
            out.put(e.path(), new FsEntry(e.path(), e.type(), e.mode(), e.uid(), e.gid(), e.mtimeSec(), e.size(),
                    e.target(), e.rdev(), e.xattrs(), e.sha256(), nlink, e.implied()));
        }
        return Collections.unmodifiableSortedMap(out);
    }

    static InputStream decompressing(InputStream raw) throws IOException {
        InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw, 1 << 16);
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return new GzipCompressorInputStream(in, true);
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5 && (magic[2] & 0xff) == 0x2f
                && (magic[3] & 0xff) == 0xfd) {
            return new ZstdCompressorInputStream(in);
        }
        return in;
    }

    /** "/a/b" for "./a/b/", "a/b"; null for the root itself; rejects ".." and NUL. */
    static String normalize(String name, String what) throws IOException {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        while (n.startsWith("/")) {
            n = n.substring(1);
        }
        while (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty() || n.equals(".")) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        for (String part : n.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..") || part.indexOf('\0') >= 0) {
                throw new IOException(what + ": tar entry '" + name + "' escapes the root file system (.. or NUL)");
            }
            sb.append('/').append(part);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? "/" : path.substring(0, i);
    }

    private static Map<String, String> xattrs(TarArchiveEntry e) {
        TreeMap<String, String> x = new TreeMap<>();
        e.getExtraPaxHeaders().forEach((k, v) -> {
            if (k.startsWith("SCHILY.xattr.")) {
                x.put(k.substring("SCHILY.xattr.".length()), v);
            }
        });
        return x;
    }

    private static String digest(InputStream in) throws IOException {
        MessageDigest md = Manifest.sha256Digest();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
