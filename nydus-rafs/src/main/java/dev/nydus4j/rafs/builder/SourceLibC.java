package dev.nydus4j.rafs.builder;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The libc calls a directory source makes through JNA, bound once: the xattr calls of {@link NativeXattrs} and the
 * hole search of {@link FileHoles}. Without libc, {@link #CALLS} is null and both fall back (user.* xattrs only,
 * sparse files read whole), with one warning.
 */
final class SourceLibC {
    private static final Logger LOG = LoggerFactory.getLogger(SourceLibC.class);

    interface Calls extends Library {
        long llistxattr(byte[] path, byte[] list, long size);

        long lgetxattr(byte[] path, byte[] name, byte[] value, long size);

        int open(byte[] path, int flags) throws LastErrorException;

        long lseek(int fd, long offset, int whence) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    /** libc, or null when JNA cannot reach it. */
    static final Calls CALLS = load();

    private SourceLibC() {
    }

    private static Calls load() {
        try {
            return Native.load("c", Calls.class);
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: degrade, don't fail the build
            LOG.warn("libc calls unavailable ({}); directory sources keep user.* xattrs only and read sparse files"
                    + " whole", t.toString());
            return null;
        }
    }

    /** The NUL-terminated path for libc, in the platform encoding of file names. */
    static byte[] cpath(Path p) {
        Charset cs = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        byte[] b = p.toAbsolutePath().toString().getBytes(cs);
        return Arrays.copyOf(b, b.length + 1);
    }
}
