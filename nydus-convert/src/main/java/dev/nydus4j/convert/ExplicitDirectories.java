package dev.nydus4j.convert;

import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import dev.nydus4j.rafs.tree.RafsTree;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Keeps lower-layer directory attributes where an upper layer only implies a directory. A layer tar often omits
 * the parents of what it changes (umoci does); the builder then creates those parents with default attributes
 * (0755, root, mtime 0), and the merge gives upper directories precedence, so the image would lose the lower
 * layer's mode, owner and mtime, unlike {@code umoci unpack} or containerd. The converter therefore records which
 * directories each layer tar lists ({@link #tap}) and, before merging, copies attributes from the nearest lower
 * layer into directories an upper layer did not list ({@link #inherit}).
 */
final class ExplicitDirectories {
    private static final String ROOT = "/";

    private ExplicitDirectories() {
    }

    /** A stream passing {@code in} through while a daemon thread collects the directory paths the tar lists. */
    static final class Tap extends FilterInputStream {
        private final PipedOutputStream pipe;
        private final CompletableFuture<Set<String>> dirs = new CompletableFuture<>();
        private boolean closedPipe;

        Tap(InputStream in, String what) throws IOException {
            super(in);
            PipedInputStream sink = new PipedInputStream(1 << 20);
            this.pipe = new PipedOutputStream(sink);
            Thread t = new Thread(() -> scan(sink, what), "nydusify-tar-scan");
            t.setDaemon(true);
            t.start();
        }

        private void scan(PipedInputStream sink, String what) {
            Set<String> out = new HashSet<>();
            try {
                TarArchiveInputStream tar = new TarArchiveInputStream(SourceRootfs.decompressing(sink));
                for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                    if (e.isDirectory()) {
                        String p = SourceRootfs.normalize(e.getName(), what);
                        out.add(p == null ? ROOT : p);
                    }
                }
                dirs.complete(out);
            } catch (IOException | RuntimeException e) {
                dirs.completeExceptionally(e);
            } finally {
                // keep reading so the converting thread never blocks on a full pipe
                try {
                    byte[] buf = new byte[1 << 16];
                    while (sink.read(buf) >= 0) {
                        // discard
                    }
                } catch (IOException ignored) {
                    // writer closed: nothing left
                }
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n <= 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0 && !closedPipe) {
                pipe.write(b, off, n);
            } else if (n < 0) {
                closePipe();
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(n, 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        private void closePipe() throws IOException {
            if (!closedPipe) {
                closedPipe = true;
                pipe.close();
            }
        }

        /** Reads the rest of the stream and returns the listed directories ("/" for the root entry). */
        Set<String> finish(String what) throws IOException {
            byte[] buf = new byte[1 << 16];
            while (read(buf, 0, buf.length) >= 0) {
                // feed the scanner to the end
            }
            closePipe();
            try {
                return dirs.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while scanning " + what, e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IOException(what + ": cannot read the tar: " + e.getCause().getMessage(), e.getCause());
            }
        }

        @Override
        public void close() throws IOException {
            try {
                closePipe();
            } finally {
                super.close();
            }
        }
    }

    /** Gives each directory of layer L that L's tar did not list the attributes of the nearest lower one. */
    static void inherit(List<RafsTree> lowestFirst, List<Set<String>> listed) {
        for (int layer = 1; layer < lowestFirst.size(); layer++) {
            walk(lowestFirst, listed, layer, lowestFirst.get(layer).root, ROOT);
        }
    }

    private static void walk(List<RafsTree> trees, List<Set<String>> listed, int layer, Node node, String path) {
        if (!node.inode().isDirectory()) {
            return;
        }
        if (!listed.get(layer).contains(path)) {
            Inode lower = lowerDirectory(trees, layer, path);
            if (lower != null) {
                Inode to = node.inode();
                to.mode = lower.mode;
                to.uid = lower.uid;
                to.gid = lower.gid;
                to.mtimeSec = lower.mtimeSec;
                to.mtimeNsec = lower.mtimeNsec;
                to.xattrs.clear();
                to.xattrs.putAll(lower.xattrs);
            }
        }
        for (Node k : node.children()) {
            walk(trees, listed, layer, k, path.equals(ROOT) ? "/" + k.nameString() : path + "/" + k.nameString());
        }
    }

    /**
     * The directory at {@code path} in the nearest lower layer, or null when it never existed or a layer in between
     * removed it (whiteout of it or an ancestor, or an opaque ancestor).
     */
    private static Inode lowerDirectory(List<RafsTree> trees, int layer, String path) {
        String[] parts = path.equals(ROOT) ? new String[0] : path.substring(1).split("/");
        for (int m = layer - 1; m >= 0; m--) {
            Node n = trees.get(m).root;
            boolean hidesLower = false;
            for (int i = 0; i < parts.length && n != null; i++) {
                if (n.child(".wh." + parts[i]) != null || n.child(".wh..wh..opq") != null) {
                    hidesLower = true;
                }
                n = n.child(parts[i]);
            }
            if (n != null) {
                return n.inode().isDirectory() ? n.inode() : null;
            }
            if (hidesLower) {
                return null;
            }
        }
        return null;
    }
}
