package dev.nydus4j.fuse;

/**
 * The Linux errno values the FUSE engines answer with (the generic Linux table, which x86_64 and aarch64 share).
 * Plain constants rather than jnr-constants' lookups: the kernel engine must not load jnr at all (its class
 * generation is what made libfuse2 start slowly), and both engines must answer the same numbers.
 */
final class Errno {
    static final int ENOENT = 2;
    static final int EIO = 5;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENODEV = 19;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int EROFS = 30;
    static final int ERANGE = 34;
    static final int ENOSYS = 38;
    static final int ENODATA = 61;
    static final int EINTR = 4;

    private Errno() {
    }
}
