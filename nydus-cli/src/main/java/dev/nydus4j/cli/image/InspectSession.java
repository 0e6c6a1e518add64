package dev.nydus4j.cli.image;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.storage.blob.BlobInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * State of one inspect session (the current directory) and the answers to its commands as JSON-ready maps. Not
 * thread-safe.
 */
final class InspectSession {
    private final RafsTree tree;
    private final Map<String, Node> paths;
    private String cwd = "/";

    private final int fsVersion;

    /** @param fsVersion 5 or 6: upstream counts {@code inodes_count} differently (v5 leaves the root out) */
    InspectSession(RafsTree tree, int fsVersion) {
        this.tree = tree;
        this.paths = TreePaths.of(tree);
        this.fsVersion = fsVersion;
    }

    /** Runs one command line ({@code stats}, {@code ls}, {@code cd d}, ...). */
    Object execute(String line) {
        String[] parts = line.trim().split("\\s+", 2);
        String cmd = parts[0];
        String arg = parts.length > 1 ? parts[1].trim() : null;
        switch (cmd) {
            case "stats":
                return stats();
            case "ls":
                return ls(arg == null ? cwd : resolve(arg));
            case "cd":
                return cd(require(cmd, arg));
            case "stat":
                return stat(resolve(require(cmd, arg)));
            case "blobs":
                return blobs();
            case "prefetch":
                return prefetch();
            case "icheck":
                return icheck(parseNumber(require(cmd, arg)));
            case "chunk":
                return chunk(parseNumber(require(cmd, arg)));
            case "help":
                return Map.of("commands", List.of("stats", "ls [DIR]", "cd DIR", "stat NAME", "blobs", "prefetch",
                        "icheck INODE", "chunk OFFSET", "help", "exit", "q"));
            default:
                throw new IllegalArgumentException("unknown inspect command '" + cmd + "'; try help");
        }
    }

    private static String require(String cmd, String arg) {
        if (arg == null || arg.isEmpty()) {
            throw new IllegalArgumentException("inspect command '" + cmd + "' needs an argument");
        }
        return arg;
    }

    private static long parseNumber(String s) {
        return SizeConverter.parse(s);
    }

    private String resolve(String name) {
        String p = name.startsWith("/") ? name : (cwd.equals("/") ? "/" + name : cwd + "/" + name);
        return PrefetchPolicy.normalize(p);
    }

    private Node node(String path) {
        Node n = paths.get(path);
        if (n == null) {
            throw new IllegalArgumentException("no such file or directory: " + path);
        }
        return n;
    }

    private Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        IdentityHashMap<Inode, Boolean> inodes = new IdentityHashMap<>();
        long files = 0, dirs = 0, symlinks = 0, others = 0, bytes = 0, chunks = 0;
        for (Node n : paths.values()) {
            Inode in = n.inode();
            if (inodes.put(in, Boolean.TRUE) != null) {
                continue;
            }
            FileType t = in.type();
            if (t == FileType.REGULAR) {
                files++;
                bytes += in.size;
                chunks += in.chunks.size();
            } else if (t == FileType.DIRECTORY) {
                dirs++;
            } else if (t == FileType.SYMLINK) {
                symlinks++;
            } else {
                others++;
            }
        }
        // upstream's request answer is {"inodes_count": N}: the super block's count (v6: every distinct inode,
        // v5: the distinct non-root ones); the rest is ours
        m.put("inodes_count", fsVersion == 5 ? inodes.size() - 1 : inodes.size());
        m.put("inodes", inodes.size());
        m.put("entries", paths.size());
        m.put("files", files);
        m.put("directories", dirs);
        m.put("symlinks", symlinks);
        m.put("other", others);
        m.put("file_bytes", bytes);
        m.put("chunk_refs", chunks);
        m.put("chunk_size", tree.chunkSize);
        m.put("compressor", tree.compressor.configName());
        m.put("digester", tree.digester.configName());
        m.put("explicit_uid_gid", tree.explicitUidGid);
        m.put("blobs", tree.blobs.size());
        m.put("prefetch_entries", tree.prefetchPaths.size());
        return m;
    }

    private Map<String, Object> ls(String dir) {
        Node n = node(dir);
        if (!n.inode().isDirectory()) {
            throw new IllegalArgumentException("not a directory: " + dir);
        }
        List<Map<String, Object>> entries = new ArrayList<>();
        for (Node c : n.children()) {
            Inode in = c.inode();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", c.nameString());
            e.put("inode", in.ino);
            e.put("type", in.type() == null ? "unknown" : in.type().name().toLowerCase());
            e.put("mode", String.format("0%o", in.mode));
            e.put("size", in.isRegular() ? in.size : 0);
            entries.add(e);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("directory", dir);
        m.put("entries", entries);
        return m;
    }

    private Map<String, Object> cd(String arg) {
        String target = arg.equals("..") ? parentOf(cwd) : resolve(arg);
        if (!node(target).inode().isDirectory()) {
            throw new IllegalArgumentException("not a directory: " + target);
        }
        cwd = target;
        return Map.of("cwd", cwd);
    }

    private static String parentOf(String p) {
        int i = p.lastIndexOf('/');
        return i <= 0 ? "/" : p.substring(0, i);
    }

    private Map<String, Object> stat(String path) {
        Inode in = node(path).inode();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", path);
        m.put("inode", in.ino);
        m.put("type", in.type() == null ? "unknown" : in.type().name().toLowerCase());
        m.put("mode", String.format("0%o", in.mode));
        m.put("uid", in.uid);
        m.put("gid", in.gid);
        m.put("mtime", in.mtimeSec);
        m.put("mtime_nsec", in.mtimeNsec);
        m.put("rdev", in.rdev);
        m.put("size", in.isRegular() ? in.size : 0);
        m.put("nlink", countLinks(in));
        if (in.symlinkTarget != null) {
            m.put("symlink", new String(in.symlinkTarget, StandardCharsets.UTF_8));
        }
        Map<String, String> xattrs = new LinkedHashMap<>();
        in.xattrs.forEach((k, v) -> xattrs.put(k, HexFormat.of().formatHex(v)));
        m.put("xattrs_hex", xattrs);
        List<Map<String, Object>> chunks = new ArrayList<>();
        for (ChunkRef c : in.chunks) {
            chunks.add(chunkMap(c));
        }
        m.put("chunks", chunks);
        return m;
    }

    private long countLinks(Inode target) {
        return paths.values().stream().filter(n -> n.inode() == target).count();
    }

    private Map<String, Object> chunkMap(ChunkRef c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file_offset", c.fileOffset());
        m.put("blob_index", c.blobIndex());
        m.put("blob_id", c.blobIndex() < tree.blobs.size() ? tree.blobs.get(c.blobIndex()).blobId() : "?");
        m.put("chunk_index", c.info().index());
        m.put("compressed_offset", c.info().compressedOffset());
        m.put("compressed_size", c.info().compressedSize());
        m.put("uncompressed_offset", c.info().uncompressedOffset());
        m.put("uncompressed_size", c.info().uncompressedSize());
        m.put("compressed", c.info().compressed());
        m.put("digest", c.digest() == null ? "" : HexFormat.of().formatHex(c.digest()));
        return m;
    }

    /**
     * Upstream's request answer: an array of {@code {blob_id, readahead_offset, readahead_size, decompressed_size,
     * compressed_size}} in blob table order; ours adds index, chunk and algorithm details.
     */
    private List<Map<String, Object>> blobs() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (BlobInfo b : tree.blobs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("blob_id", b.blobId());
            m.put("readahead_offset", 0);
            m.put("readahead_size", 0);
            m.put("decompressed_size", b.uncompressedSize());
            m.put("compressed_size", b.compressedSize());
            m.put("blob_index", b.blobIndex());
            m.put("uncompressed_size", b.uncompressedSize());
            m.put("chunk_size", b.chunkSize());
            m.put("chunk_count", b.chunkCount());
            m.put("compressor", b.compressionAlgo());
            m.put("digester", b.digestAlgo());
            m.put("features", BlobFeatures.describe(b.features()));
            list.add(m);
        }
        return list;
    }

    /**
     * Upstream's request answer: an array of {@code {inode, path}} in prefetch table order, {@code path} being every
     * path of that inode (hard links).
     */
    private List<Map<String, Object>> prefetch() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (String p : tree.prefetchPaths) {
            Node n = paths.get(p);
            if (n == null) {
                continue;
            }
            Inode in = n.inode();
            List<String> all = new ArrayList<>();
            for (Map.Entry<String, Node> e : paths.entrySet()) {
                if (e.getValue().inode() == in) {
                    all.add(e.getKey());
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("inode", in.ino);
            m.put("path", all);
            list.add(m);
        }
        return list;
    }

    private Map<String, Object> icheck(long ino) {
        List<String> found = new ArrayList<>();
        for (Map.Entry<String, Node> e : paths.entrySet()) {
            if (e.getValue().inode().ino == ino) {
                found.add(e.getKey());
            }
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException("no inode " + ino);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("inode", ino);
        m.put("paths", found);
        return m;
    }

    /** Files whose chunks start at compressed offset {@code offset} of any blob. */
    private Map<String, Object> chunk(long offset) {
        List<Map<String, Object>> refs = new ArrayList<>();
        for (Map.Entry<String, Node> e : paths.entrySet()) {
            for (ChunkRef c : e.getValue().inode().chunks) {
                if (c.info().compressedOffset() == offset) {
                    Map<String, Object> m = chunkMap(c);
                    m.put("path", e.getKey());
                    refs.add(m);
                }
            }
        }
        if (refs.isEmpty()) {
            throw new IllegalArgumentException("no chunk at compressed offset " + offset);
        }
        return Map.of("chunks", refs);
    }
}
