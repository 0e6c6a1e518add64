package dev.nydus4j.testkit;

import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Extended attributes of every namespace ({@code user.}, {@code trusted.}, {@code security.}, ...) through libc's
 * {@code llistxattr}/{@code lgetxattr}/{@code lsetxattr}: Java's {@code UserDefinedFileAttributeView} reaches only
 * {@code user.*} and always follows symlinks. Never follows symlinks. Thread-safe (stateless).
 */
public final class LinuxXattrs {
    private static final int ERANGE = 34;
    private static final int ENODATA = 61;
    /** Linux XATTR_LIST_MAX / XATTR_SIZE_MAX: nothing larger can exist, so buffers never grow beyond it. */
    private static final int XATTR_MAX = 65536;

    private LinuxXattrs() {
    }

    /** The libc binding; {@code size_t}/{@code ssize_t} are {@code long} on the 64-bit Linux targets we run on. */
    interface LibC extends Library {
        long llistxattr(byte[] path, byte[] list, long size);

        long lgetxattr(byte[] path, byte[] name, byte[] value, long size);

        int lsetxattr(byte[] path, byte[] name, byte[] value, long size, int flags);
    }

    private static final class Holder {
        static final LibC LIBC = Native.load("c", LibC.class);
    }

    /** All xattrs of {@code p} (not following a final symlink), sorted by name. */
    public static TreeMap<String, byte[]> read(Path p) throws IOException {
        TreeMap<String, byte[]> out = new TreeMap<>();
        byte[] path = cpath(p);
        byte[] list = call(p, "llistxattr", size -> Holder.LIBC.llistxattr(path, null, 0),
                buf -> Holder.LIBC.llistxattr(path, buf, buf.length));
        if (list == null) {
            return out;
        }
        for (String name : splitNames(list)) {
            byte[] cname = cstring(name);
            byte[] value = call(p, "lgetxattr " + name, size -> Holder.LIBC.lgetxattr(path, cname, null, 0),
                    buf -> Holder.LIBC.lgetxattr(path, cname, buf, buf.length));
            if (value != null) {
                out.put(name, value);
            }
        }
        return out;
    }

    /** Sets one xattr on {@code p} itself (not following a symlink). */
    public static void set(Path p, String name, byte[] value) throws IOException {
        int rc = Holder.LIBC.lsetxattr(cpath(p), cstring(name), value, value.length, 0);
        if (rc != 0) {
            throw new IOException("lsetxattr " + name + " on " + p + " failed: errno " + Native.getLastError());
        }
    }

    private interface SizeCall {
        long apply(long size);
    }

    private interface BufCall {
        long apply(byte[] buf);
    }

    /** Size query, then fetch; retries on ERANGE (the attribute grew in between). Null when absent. */
    private static byte[] call(Path p, String what, SizeCall sizeCall, BufCall bufCall) throws IOException {
        for (int attempt = 0; attempt < 4; attempt++) {
            long n = sizeCall.apply(0);
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == ENODATA) {
                    return null;
                }
                throw new IOException(what + " on " + p + " failed: errno " + errno);
            }
            if (n == 0) {
                return new byte[0];
            }
            if (n > XATTR_MAX) {
                throw new IOException(what + " on " + p + ": size " + n + " exceeds " + XATTR_MAX);
            }
            byte[] buf = new byte[(int) n];
            long got = bufCall.apply(buf);
            if (got >= 0) {
                return Arrays.copyOf(buf, (int) got);
            }
            int errno = Native.getLastError();
            if (errno == ENODATA) {
                return null;
            }
            if (errno != ERANGE) {
                throw new IOException(what + " on " + p + " failed: errno " + errno);
            }
        }
        throw new IOException(what + " on " + p + ": size kept changing");
    }

    private static List<String> splitNames(byte[] list) {
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

    private static byte[] cstring(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    /** Path bytes as the JDK encodes file names (sun.jnu.encoding), NUL terminated. */
    static byte[] cpath(Path p) {
        String enc = System.getProperty("sun.jnu.encoding", "UTF-8");
        byte[] b = p.toAbsolutePath().toString().getBytes(Charset.forName(enc));
        return Arrays.copyOf(b, b.length + 1);
    }
}
