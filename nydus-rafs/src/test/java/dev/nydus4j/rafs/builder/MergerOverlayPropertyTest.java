package dev.nydus4j.rafs.builder;

import dev.nydus4j.rafs.Bootstraps;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.rafs.tree.RafsTree;
import dev.nydus4j.rafs.v6.RafsV6Writer;
import dev.nydus4j.storage.LocalChunkReader;
import dev.nydus4j.testkit.TreeSnapshot;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random layer stacks: the merged image must equal the directory obtained by extracting the layers one over the
 * other with OCI whiteout semantics (the reference implemented here on a real directory).
 */
class MergerOverlayPropertyTest {
    @TempDir
    Path tmp;

    private static final String[] NAMES = {"a", "b", "c", "d"};
    private static final int[] DIR_MODES = {0755, 0700, 0750, 0711};
    private static final long MTIME = 1_650_000_000L;

    /** One tar entry of a layer. kind: d(ir), f(ile), l(ink), w(hiteout of path), o(paque dir path). */
    private record Op(char kind, String path, int mode, byte[] data, String target) {
    }

    @Test
    void randomLayerStacksMatchAReferenceExtraction() throws Exception {
        long seed = Long.getLong("nydus.seed", System.nanoTime());
        System.out.println("randomLayerStacksMatchAReferenceExtraction seed=" + seed);
        Random rnd = new Random(seed);
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        for (int round = 0; round < 12; round++) {
            Path ref = Files.createDirectory(tmp.resolve("ref-" + round));
            List<RafsTree> layers = new ArrayList<>();
            int n = 2 + rnd.nextInt(3);
            for (int l = 0; l < n; l++) {
                List<Op> ops = randomLayer(rnd);
                BuildResult r = new ImageBuilder(BuildOptions.defaults().withChunkSize(4096)
                        .withSourceType(SourceType.TAR)).build(new ByteArrayInputStream(toTar(ops)),
                        tmp.resolve("boot-" + round + "-" + l), null, blobs);
                layers.add(Bootstraps.read(r.bootstrap()));
                extract(ref, ops);
            }
            RafsTree merged = Merger.merge(layers);
            Path boot = tmp.resolve("merged-" + round);
            RafsV6Writer.write(merged, boot);
            TreeSnapshot actual;
            try (RafsImage img = RafsImage.open(boot, LocalChunkReader.forDirectory(blobs))) {
                actual = TreeSnapshot.of(img);
            }
            TreeSnapshot expected = TreeSnapshot.of(ref);
            assertThat(expected.without("/").diff(actual.without("/"), TreeSnapshot.Field.DIR_MTIME,
                    TreeSnapshot.Field.UID, TreeSnapshot.Field.GID))
                    .as("seed %d round %d layers %d", seed, round, n).isEmpty();
        }
    }

    private static List<Op> randomLayer(Random rnd) {
        Map<String, Op> dirs = new LinkedHashMap<>();
        List<Op> ops = new ArrayList<>();
        Set<String> used = new HashSet<>();
        int count = 1 + rnd.nextInt(8);
        for (int i = 0; i < count; i++) {
            String path = randomPath(rnd);
            String parent = path.contains("/") ? path.substring(0, path.lastIndexOf('/')) : "";
            // an entry may not sit below a non-directory of the same layer, nor be used twice
            if (used.contains(path) || conflicts(parent, used, dirs)) {
                continue;
            }
            int k = rnd.nextInt(10);
            Op op;
            if (k < 4) {
                byte[] data = new byte[rnd.nextInt(3) == 0 ? rnd.nextInt(10_000) : rnd.nextInt(50)];
                rnd.nextBytes(data);
                op = new Op('f', path, rnd.nextBoolean() ? 0644 : 0600, data, null);
            } else if (k < 6) {
                if (dirs.containsKey(path)) {
                    continue;
                }
                op = new Op('d', path, DIR_MODES[rnd.nextInt(DIR_MODES.length)], null, null);
            } else if (k < 7) {
                op = new Op('l', path, 0777, null, NAMES[rnd.nextInt(NAMES.length)]);
            } else if (k < 9) {
                op = new Op('w', path, 0, null, null);
            } else {
                if (used.contains(path + "/.opq") || (used.contains(path) && !dirs.containsKey(path))) {
                    continue;
                }
                op = new Op('o', path, 0, null, null);
            }
            addParents(parent, dirs, rnd, ops, used);
            if (op.kind == 'd') {
                dirs.put(path, op);
                ops.add(op);
                used.add(path);
            } else if (op.kind == 'o') {
                addParents(path, dirs, rnd, ops, used);
                ops.add(op);
                used.add(path + "/.opq");
            } else {
                ops.add(op);
                used.add(op.kind == 'w' ? path + "/.wh" : path);
            }
        }
        return ops;
    }

    private static boolean conflicts(String parent, Set<String> used, Map<String, Op> dirs) {
        String p = parent;
        while (!p.isEmpty()) {
            if (used.contains(p) && !dirs.containsKey(p)) {
                return true;
            }
            p = p.contains("/") ? p.substring(0, p.lastIndexOf('/')) : "";
        }
        return false;
    }

    private static void addParents(String dir, Map<String, Op> dirs, Random rnd, List<Op> ops, Set<String> used) {
        if (dir.isEmpty() || dirs.containsKey(dir)) {
            return;
        }
        addParents(dir.contains("/") ? dir.substring(0, dir.lastIndexOf('/')) : "", dirs, rnd, ops, used);
        Op d = new Op('d', dir, DIR_MODES[rnd.nextInt(DIR_MODES.length)], null, null);
        dirs.put(dir, d);
        used.add(dir);
        ops.add(d);
    }

    private static String randomPath(Random rnd) {
        int depth = 1 + rnd.nextInt(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            if (i > 0) {
                sb.append('/');
            }
            sb.append(NAMES[rnd.nextInt(NAMES.length)]);
        }
        return sb.toString();
    }

    private static byte[] toTar(List<Op> ops) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bos)) {
            for (Op op : ops) {
                TarArchiveEntry e;
                switch (op.kind) {
                    case 'd' -> {
                        e = new TarArchiveEntry(op.path + "/", TarConstants.LF_DIR);
                        e.setMode(op.mode);
                    }
                    case 'f' -> {
                        e = new TarArchiveEntry(op.path);
                        e.setMode(op.mode);
                        e.setSize(op.data.length);
                    }
                    case 'l' -> {
                        e = new TarArchiveEntry(op.path, TarConstants.LF_SYMLINK);
                        e.setLinkName(op.target);
                    }
                    case 'w' -> e = new TarArchiveEntry(whiteoutName(op.path));
                    default -> e = new TarArchiveEntry(op.path + "/" + Whiteouts.OPAQUE);
                }
                e.setModTime(MTIME * 1000);
                out.putArchiveEntry(e);
                if (op.kind == 'f') {
                    out.write(op.data);
                }
                out.closeArchiveEntry();
            }
        }
        return bos.toByteArray();
    }

    private static String whiteoutName(String path) {
        int slash = path.lastIndexOf('/');
        return path.substring(0, slash + 1) + Whiteouts.PREFIX + path.substring(slash + 1);
    }

    /** Reference: OCI changeset application on a real directory, never following symlinks. */
    private static void extract(Path root, List<Op> ops) throws IOException {
        for (Op op : ops) {
            if (op.kind == 'o') {
                Path d = realDir(root, op.path);
                if (d != null) {
                    try (Stream<Path> kids = Files.list(d)) {
                        for (Path k : kids.toList()) {
                            deleteTree(k);
                        }
                    }
                }
            }
        }
        for (Op op : ops) {
            if (op.kind == 'w') {
                String parent = op.path.contains("/") ? op.path.substring(0, op.path.lastIndexOf('/')) : "";
                Path d = parent.isEmpty() ? root : realDir(root, parent);
                if (d != null) {
                    deleteTree(d.resolve(op.path.substring(op.path.lastIndexOf('/') + 1)));
                }
            }
        }
        for (Op op : ops) {
            Path p = root.resolve(op.path);
            switch (op.kind) {
                case 'd' -> {
                    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        deleteTree(p);
                        Files.createDirectory(p);
                    }
                    Files.setAttribute(p, "unix:mode", op.mode, LinkOption.NOFOLLOW_LINKS);
                }
                case 'f' -> {
                    deleteTree(p);
                    Files.write(p, op.data);
                    Files.setAttribute(p, "unix:mode", op.mode, LinkOption.NOFOLLOW_LINKS);
                    Files.setLastModifiedTime(p, FileTime.fromMillis(MTIME * 1000));
                }
                case 'l' -> {
                    deleteTree(p);
                    Files.createSymbolicLink(p, Path.of(op.target));
                    Process t = new ProcessBuilder("touch", "-h", "-d", "@" + MTIME, p.toString()).start();
                    try {
                        assertThat(t.waitFor()).isZero();
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                default -> {
                }
            }
        }
    }

    /** The directory at {@code rel} if every component is a real directory, else null. */
    private static Path realDir(Path root, String rel) {
        Path p = root;
        for (String c : rel.split("/")) {
            p = p.resolve(c);
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
        }
        return p;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(q);
                }
            }
        } else {
            Files.delete(p);
        }
    }
}
