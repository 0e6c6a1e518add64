package dev.nydus4j.fuse;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The libc calls of the kernel engine, bound by JNA's direct mapping ({@link Native#register}): one JNI stub per
 * method, no proxy or closure classes generated (the cost that made jnr-fuse start slowly). Buffers are passed as
 * raw addresses of native memory the caller owns, so a call copies nothing. Every call throws
 * {@link LastErrorException} (carrying errno) when it fails.
 */
final class LibC {
    static final int O_RDWR = 02;
    static final int O_CLOEXEC = 02000000;
    static final long MS_RDONLY = 1;
    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    static final int MNT_DETACH = 2;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    static native int open(String path, int flags) throws LastErrorException;

    static native long read(int fd, long buf, long count) throws LastErrorException;

    static native long write(int fd, long buf, long count) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int mount(String source, String target, String fstype, long flags, String data)
            throws LastErrorException;

    static native int umount2(String target, int flags) throws LastErrorException;

    static native int getuid();

    static native int getgid();

    /** {@code signal(2)}; a null handler is SIG_DFL (used to undo an inherited SIG_IGN, see {@link ExitSignals}). */
    static native long signal(int signum, long handler);

    // ---- Unix sockets with SCM_RIGHTS (FdSocket): Java's channels cannot pass descriptors

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, long addr, int len) throws LastErrorException;

    static native int listen(int fd, int backlog) throws LastErrorException;

    static native int accept4(int fd, long addr, long len, int flags) throws LastErrorException;

    static native int connect(int fd, long addr, int len) throws LastErrorException;

    static native long sendmsg(int fd, long msg, int flags) throws LastErrorException;

    static native long recvmsg(int fd, long msg, int flags) throws LastErrorException;

    static native int poll(long fds, long nfds, int timeoutMs) throws LastErrorException;

    static native int shutdown(int fd, int how) throws LastErrorException;
}
