package dev.nydus4j.cli.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.nydus4j.rafs.tree.ChunkRef;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code nydus-image stat}: size and chunk-dedup figures of one bootstrap, or of every extension-less bootstrap in a
 * directory taken together, optionally against a target (API spec 4.5).
 */
@Command(name = "stat", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Print size and chunk deduplication statistics of bootstraps.")
final class StatCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-B", "--bootstrap"}, paramLabel = "FILE", description = "One bootstrap.")
    Path bootstrap;

    @Option(names = {"-D", "--blob-dir"}, paramLabel = "DIR", description = "Directory of bootstraps (extension-less files) for dedup statistics.")
    Path dir;

    @Option(names = {"-T", "--target"}, paramLabel = "FILE", description = "Bootstrap to deduplicate against the others.")
    Path target;

    @Option(names = "--digester", defaultValue = "blake3", paramLabel = "ALGO", description = "Digester of the images (informational).")
    String digester;

    @Option(names = {"-C", "--config"}, paramLabel = "FILE", description = "Backend config (accepted for compatibility).")
    Path config;

    @Option(names = {"-J", "--output-json"}, paramLabel = "FILE", description = "Write the statistics as JSON here.")
    Path outputJson;

    @Override
    public Integer call() throws IOException {
        if ((bootstrap == null) == (dir == null)) {
            throw new IllegalArgumentException("give exactly one of --bootstrap or --blob-dir");
        }
        List<Path> images = new ArrayList<>();
        if (bootstrap != null) {
            images.add(bootstrap);
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().contains(".")).sorted()
                        .forEach(images::add);
            }
            if (images.isEmpty()) {
                throw new IllegalArgumentException("no extension-less bootstrap files in " + dir);
            }
        }
        Map<String, Object> result = new LinkedHashMap<>();
        Figures all = new Figures();
        List<Map<String, Object>> per = new ArrayList<>();
        for (Path p : images) {
            Figures f = new Figures();
            RafsTree tree = BootstrapSource.load(p);
            f.add(tree);
            all.add(tree);
            Map<String, Object> m = f.toMap();
            m.put("bootstrap", p.toString());
            m.put("bootstrap_size", Files.size(p));
            per.add(m);
        }
        result.put("images", per);
        if (images.size() > 1) {
            result.put("total", all.toMap());
        }
        if (target != null) {
            Figures t = new Figures();
            t.add(BootstrapSource.load(target));
            long newChunks = 0, newBytes = 0;
            for (Map.Entry<String, Integer> e : t.uniqueSizes.entrySet()) {
                if (!all.uniqueSizes.containsKey(e.getKey())) {
                    newChunks++;
                    newBytes += e.getValue();
                }
            }
            Map<String, Object> m = t.toMap();
            m.put("bootstrap", target.toString());
            m.put("chunks_not_in_others", newChunks);
            m.put("bytes_not_in_others", newBytes);
            result.put("target", m);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        PrintWriter out = spec.commandLine().getOut();
        for (Map<String, Object> m : per) {
            print(out, m);
        }
        if (result.containsKey("total")) {
            out.println("all images together:");
            print(out, all.toMap());
        }
        if (target != null) {
            out.println("target:");
            print(out, (Map<String, Object>) result.get("target"));
        }
        out.flush();
        if (outputJson != null) {
            json.writeValue(outputJson.toFile(), result);
        }
        return 0;
    }

    private static void print(PrintWriter out, Map<String, Object> m) {
        m.forEach((k, v) -> out.printf("%-22s %s%n", k + ":", v));
    }

    /** Accumulated counts; chunks are identified by their digest. */
    private static final class Figures {
        long files;
        long dirs;
        long symlinks;
        long fileBytes;
        long chunkRefs;
        long chunkBytes;
        final Map<String, Integer> uniqueSizes = new LinkedHashMap<>();
        final Set<String> blobs = new HashSet<>();

        void add(RafsTree tree) {
            tree.blobs.forEach(b -> blobs.add(b.blobId()));
            IdentityHashMap<Inode, Boolean> seen = new IdentityHashMap<>();
            for (Node n : TreePaths.of(tree).values()) {
                Inode in = n.inode();
                if (seen.put(in, Boolean.TRUE) != null) {
                    continue;
                }
                if (in.isDirectory()) {
                    dirs++;
                } else if (in.isRegular()) {
                    files++;
                    fileBytes += in.size;
                    for (ChunkRef c : in.chunks) {
                        chunkRefs++;
                        chunkBytes += c.info().uncompressedSize();
                        uniqueSizes.putIfAbsent(HexFormat.of().formatHex(c.digest()), c.info().uncompressedSize());
                    }
                } else if (in.symlinkTarget != null) {
                    symlinks++;
                }
            }
        }

        Map<String, Object> toMap() {
            long uniqueBytes = uniqueSizes.values().stream().mapToLong(Integer::longValue).sum();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("files", files);
            m.put("directories", dirs);
            m.put("symlinks", symlinks);
            m.put("file_bytes", fileBytes);
            m.put("chunk_refs", chunkRefs);
            m.put("unique_chunks", uniqueSizes.size());
            m.put("unique_chunk_bytes", uniqueBytes);
            m.put("dedup_ratio", chunkBytes == 0 ? "1.000" : String.format("%.3f", (double) chunkBytes / uniqueBytes));
            m.put("blobs", blobs.size());
            return m;
        }
    }
}
