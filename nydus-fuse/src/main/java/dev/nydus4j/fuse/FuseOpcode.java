package dev.nydus4j.fuse;

/**
 * The opcodes of the FUSE protocol ({@code enum fuse_opcode} of linux/fuse.h) the kernel engine answers; every
 * other opcode gets ENOSYS.
 */
final class FuseOpcode {
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int READLINK = 5;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int ACCESS = 34;
    static final int INTERRUPT = 36;
    static final int DESTROY = 38;
    static final int BATCH_FORGET = 42;
    static final int READDIRPLUS = 44;

    private FuseOpcode() {
    }
}
