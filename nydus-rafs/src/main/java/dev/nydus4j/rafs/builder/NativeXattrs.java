package dev.nydus4j.rafs.builder;

import com.sun.jna.Native;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Reads all extended attributes of a path without following symlinks via libc {@code llistxattr}/{@code lgetxattr}
 * (JNA). Java alone reaches only {@code user.*} and follows symlinks; without libc access this falls back to that
 * with one warning. Thread-safe.
 */
public final class NativeXattrs {
    private static final int ERANGE = 34;
    private static final int ENODATA = 61;
    private static final int ENOTSUP = 95;
    /** Linux XATTR_LIST_MAX / XATTR_SIZE_MAX: bounds every buffer. */
    private static final int XATTR_MAX = 65536;

    private static final SourceLibC.Calls LIBC = SourceLibC.CALLS;

    private NativeXattrs() {
    }

    /** Whether libc's xattr calls are reachable, i.e. {@link #read} returns every namespace, not only user.*. */
    public static boolean complete() {
        return LIBC != null;
    }

    /** All xattrs of {@code p}, sorted by name. {@code isSymlink}: needed for the user.*-only fallback. */
    public static TreeMap<String, byte[]> read(Path p, boolean isSymlink) throws IOException {
        if (LIBC == null) {
            return readUserOnly(p, isSymlink);
        }
        TreeMap<String, byte[]> out = new TreeMap<>();
        byte[] path = SourceLibC.cpath(p);
        byte[] list = fetch(p, "llistxattr", () -> LIBC.llistxattr(path, null, 0),
                buf -> LIBC.llistxattr(path, buf, buf.length));
        if (list == null) {
            return out;
        }
        for (String name : split(list)) {
            byte[] n = nulTerminated(name);
            byte[] v = fetch(p, "lgetxattr " + name, () -> LIBC.lgetxattr(path, n, null, 0),
                    buf -> LIBC.lgetxattr(path, n, buf, buf.length));
            if (v != null) {
                out.put(name, v);
            }
        }
        return out;
    }

    private interface SizeCall {
        long call();
    }

    private interface BufCall {
        long call(byte[] buf);
    }

    private static byte[] fetch(Path p, String what, SizeCall size, BufCall get) throws IOException {
        for (int attempt = 0; attempt < 4; attempt++) {
            long n = size.call();
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == ENODATA || errno == ENOTSUP) {
                    return null;
                }
                throw new IOException(what + " of " + p + " failed with errno " + errno);
            }
            if (n == 0) {
                return new byte[0];
            }
            if (n > XATTR_MAX) {
                throw new IOException(what + " of " + p + ": " + n + " bytes exceeds the Linux limit " + XATTR_MAX);
            }
            byte[] buf = new byte[(int) n];
            long got = get.call(buf);
            if (got >= 0) {
                return Arrays.copyOf(buf, (int) got);
            }
            int errno = Native.getLastError();
            if (errno == ENODATA) {
                return null;
            }
            if (errno != ERANGE) {
                throw new IOException(what + " of " + p + " failed with errno " + errno);
            }
            // ERANGE: the value grew between the two calls; ask again
        }
        throw new IOException(what + " of " + p + ": size kept changing");
    }

    private static List<String> split(byte[] list) {
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < list.length; i++) {
            if (list[i] == 0) {
                if (i > start) {
                    names.add(new String(list, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return names;
    }

    private static byte[] nulTerminated(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    private static TreeMap<String, byte[]> readUserOnly(Path p, boolean isSymlink) throws IOException {
        TreeMap<String, byte[]> out = new TreeMap<>();
        if (isSymlink) {
            return out; // the Java view would report the target's attributes
        }
        UserDefinedFileAttributeView v = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
        if (v == null) {
            return out;
        }
        try {
            for (String n : v.list()) {
                ByteBuffer b = ByteBuffer.allocate(v.size(n));
                v.read(n, b);
                out.put("user." + n, Arrays.copyOf(b.array(), b.position()));
            }
        } catch (UnsupportedOperationException e) {
            return out;
        }
        return out;
    }
}
