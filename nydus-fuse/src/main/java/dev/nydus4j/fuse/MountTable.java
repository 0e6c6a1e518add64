package dev.nydus4j.fuse;

import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The images a daemon serves, by virtual mountpoint, and how FUSE paths and inode numbers map onto them. An
 * image at "/" is the whole FUSE mount; otherwise the FUSE root is a read-only pseudo directory tree leading to
 * the sub-mountpoints (as upstream's pseudo fs). Inode numbers of the image at "/" are passed through unchanged;
 * images at sub-paths get {@code number << 48 | ino} so that different images never share an inode number.
 * Thread-safe.
 */
final class MountTable {
    static final long ROOT_INO = 1;
    private static final int INSTANCE_SHIFT = 48;

    private final ConcurrentSkipListMap<String, RafsInstance> instances = new ConcurrentSkipListMap<>();
    private final Map<String, Long> pseudoInos = new ConcurrentHashMap<>();
    private final Map<Long, String> pseudoPaths = new ConcurrentHashMap<>();
    private final AtomicLong nextPseudoIno = new AtomicLong(2);
    private final AtomicInteger nextNumber = new AtomicInteger(1);

    /** What a FUSE path refers to. */
    sealed interface Resolution permits InImage, Pseudo {
    }

    /** A path inside an image: {@code subPath} is absolute inside the image. */
    record InImage(RafsInstance instance, String subPath) implements Resolution {
    }

    /** A pseudo directory (the root or a directory leading to sub-mountpoints) with its child names. */
    record Pseudo(String path, long ino, SortedSet<String> children) implements Resolution {
        /** The path of child {@code name}. */
        String childPath(String name) {
            return MountTable.childPath(path, name);
        }
    }

    /** {@code dir/name} for a virtual directory path ("/" included). */
    static String childPath(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    int nextNumber() {
        return nextNumber.getAndIncrement();
    }

    /**
     * The numbering the kernel's node ids depend on: the next instance number, and the pseudo directories' inode
     * numbers by path with the next one. A daemon that takes a FUSE session over restores it
     * ({@link #restoreNumbering}) so that every node id the kernel holds keeps naming the same thing.
     */
    record Numbering(int nextNumber, Map<String, Long> pseudoInos, long nextPseudoIno) {
        Numbering {
            pseudoInos = Map.copyOf(pseudoInos);
        }
    }

    Numbering numbering() {
        return new Numbering(nextNumber.get(), pseudoInos, nextPseudoIno.get());
    }

    /** Forgets a restored numbering after a failed takeover (nothing may be mounted), so that it can be retried. */
    synchronized void resetNumbering() {
        if (!instances.isEmpty()) {
            throw new IllegalStateException("the numbering cannot be reset while images are mounted");
        }
        pseudoInos.clear();
        pseudoPaths.clear();
        nextPseudoIno.set(2);
        nextNumber.set(1);
    }

    /** Restores {@link #numbering()} of another daemon; only while nothing is mounted or resolved yet. */
    synchronized void restoreNumbering(Numbering n) {
        if (!instances.isEmpty() || !pseudoInos.isEmpty()) {
            throw new IllegalStateException("the numbering can only be restored into an empty table");
        }
        for (Map.Entry<String, Long> e : n.pseudoInos().entrySet()) {
            long ino = e.getValue();
            if (ino <= ROOT_INO || ino >= n.nextPseudoIno() || (ino & IMAGE_NODE) != 0
                    || !normalize(e.getKey()).equals(e.getKey()) || e.getKey().equals("/")) {
                throw new IllegalArgumentException("pseudo directory " + e.getKey() + " has an invalid inode number "
                        + ino + " (expected 2.." + (n.nextPseudoIno() - 1) + ")");
            }
            if (pseudoPaths.putIfAbsent(ino, e.getKey()) != null) {
                throw new IllegalArgumentException("pseudo inode number " + ino + " is given twice");
            }
            pseudoInos.put(e.getKey(), ino);
        }
        nextPseudoIno.set(n.nextPseudoIno());
        nextNumber.set(n.nextNumber());
    }

    /** Validates and normalises a virtual mountpoint: absolute, no "." or ".." or empty components. */
    static String normalize(String mountpoint) {
        if (mountpoint == null || !mountpoint.startsWith("/")) {
            throw new IllegalArgumentException("mountpoint '" + mountpoint + "' must be an absolute path");
        }
        String m = mountpoint.replaceAll("/+", "/");
        if (m.length() > 1 && m.endsWith("/")) {
            m = m.substring(0, m.length() - 1);
        }
        for (String c : m.split("/")) {
            if (c.equals(".") || c.equals("..")) {
                throw new IllegalArgumentException("mountpoint '" + mountpoint + "' must not contain . or ..");
            }
            if (c.length() > 255) {
                throw new IllegalArgumentException("mountpoint component of " + c.length()
                        + " bytes is longer than a file name (255)");
            }
        }
        for (int i = 0; i < m.length(); i++) {
            if (m.charAt(i) < 0x20 || m.charAt(i) == 0x7f) {
                // a NUL would end the name the kernel sees ('/a\0b' listed as 'a'), other controls are no names
                throw new IllegalArgumentException("mountpoint must not contain control characters (code "
                        + (int) m.charAt(i) + " at " + i + ")");
            }
        }
        return m;
    }

    /** Adds an instance; fails when the mountpoint is taken or overlaps another mount. */
    synchronized void add(RafsInstance inst) {
        String mp = inst.mountpoint();
        if (instances.containsKey(mp)) {
            throw new IllegalStateException("mountpoint " + mp + " is already mounted");
        }
        for (String other : instances.keySet()) {
            if (mp.equals("/") || other.equals("/") || mp.startsWith(other + "/") || other.startsWith(mp + "/")) {
                throw new IllegalStateException("mountpoint " + mp + " overlaps the mount at " + other);
            }
        }
        instances.put(mp, inst);
    }

    RafsInstance remove(String mountpoint) {
        return instances.remove(mountpoint);
    }

    RafsInstance get(String mountpoint) {
        return instances.get(mountpoint);
    }

    List<RafsInstance> all() {
        return List.copyOf(instances.values());
    }

    boolean isEmpty() {
        return instances.isEmpty();
    }

    /** Resolves a FUSE path, or returns null when nothing is there. */
    Resolution resolve(String path) {
        RafsInstance whole = instances.get("/");
        if (whole != null) {
            return new InImage(whole, path);
        }
        for (RafsInstance inst : instances.values()) {
            String mp = inst.mountpoint();
            if (path.equals(mp)) {
                return new InImage(inst, "/");
            }
            if (path.startsWith(mp + "/")) {
                return new InImage(inst, path.substring(mp.length()));
            }
        }
        SortedSet<String> children = new TreeSet<>();
        String prefix = path.equals("/") ? "/" : path + "/";
        for (String mp : instances.keySet()) {
            if (mp.startsWith(prefix)) {
                String rest = mp.substring(prefix.length());
                int slash = rest.indexOf('/');
                children.add(slash < 0 ? rest : rest.substring(0, slash));
            }
        }
        if (!path.equals("/") && children.isEmpty()) {
            return null;
        }
        long ino = path.equals("/") ? ROOT_INO : pseudoInos.computeIfAbsent(path, p -> {
            long n = nextPseudoIno.getAndIncrement();
            pseudoPaths.put(n, p);
            return n;
        });
        return new Pseudo(path, ino, children);
    }

    /**
     * Bit 63 marks the kernel-protocol node ids of image inodes; pseudo directories keep their (small) numbers and
     * the mount root is always {@link #ROOT_INO}, which the kernel requires. So neither an image whose root is not
     * inode 1 nor one with a non-root inode 1 collides with the root or a pseudo directory.
     */
    private static final long IMAGE_NODE = 1L << 63;
    private static final long IMAGE_INO_MASK = (1L << INSTANCE_SHIFT) - 1;

    /** The kernel node id of an image inode: its {@link #fuseIno} tagged, or the root id for the root at "/". */
    static long nodeId(RafsInstance inst, long imageIno) {
        if (imageIno == inst.image().rootInode() && inst.mountpoint().equals("/")) {
            return ROOT_INO;
        }
        return IMAGE_NODE | fuseIno(inst, imageIno);
    }

    static boolean isImageNode(long nodeId) {
        return (nodeId & IMAGE_NODE) != 0;
    }

    /** The image a node id of {@link #nodeId} belongs to, or null when it is not served (any more). */
    RafsInstance instanceOfNode(long nodeId) {
        RafsInstance whole = instances.get("/");
        if (whole != null) {
            return whole;
        }
        long number = (nodeId & ~IMAGE_NODE) >>> INSTANCE_SHIFT;
        for (RafsInstance inst : instances.values()) {
            if (inst.number() == number) {
                return inst;
            }
        }
        return null;
    }

    /** The image inode number of a node id of {@link #nodeId}. */
    static long imageIno(RafsInstance inst, long nodeId) {
        long f = nodeId & ~IMAGE_NODE;
        return inst.mountpoint().equals("/") ? f : f & IMAGE_INO_MASK;
    }

    /** The inode number of the pseudo directory at {@code path} if it was ever resolved, else 0. */
    long pseudoIno(String path) {
        Long n = pseudoInos.get(path);
        return n == null ? 0 : n;
    }

    /** The pseudo directory with inode number {@code ino}, or null when it is gone (or never was). */
    Pseudo pseudo(long ino) {
        String path = ino == ROOT_INO ? "/" : pseudoPaths.get(ino);
        return path != null && resolve(path) instanceof Pseudo p ? p : null;
    }

    /** Inode number the kernel sees for an image inode. */
    static long fuseIno(RafsInstance inst, long imageIno) {
        return inst.mountpoint().equals("/") ? imageIno : ((long) inst.number() << INSTANCE_SHIFT) | imageIno;
    }
}
