package dev.nydus4j.fuse;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernel engine's wire encoding, without a mount: requests are built as the kernel lays them out
 * (linux/fuse.h), answers decoded the same way. Served: an empty daemon (its pseudo root only).
 */
class KernelDispatcherTest {
    private final KernelDispatcher dispatcher = new KernelDispatcher(
            new FsOps(new MountTable(), true, new EventRing(), false));
    private final ByteBuffer in = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer out = ByteBuffer.allocateDirect(FuseOutHeader.SIZE + (1 << 20))
            .order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer data = out.duplicate().position(FuseOutHeader.SIZE).slice();

    /** Writes a request header plus {@code body}; returns the reply length. */
    private int call(int opcode, long nodeId, byte[] body) {
        in.clear();
        int len = FuseInHeader.SIZE + body.length;
        in.putInt(0, len).putInt(4, opcode).putLong(8, 77).putLong(16, nodeId);
        in.put(FuseInHeader.SIZE, body);
        int n = dispatcher.handle(in, len, out, data);
        if (n > 0) {
            assertThat(out.getInt(0)).as("out header len").isEqualTo(n);
            assertThat(out.getLong(8)).as("unique").isEqualTo(77);
        }
        return n;
    }

    private static byte[] body(int size, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return b.array();
    }

    private int error() {
        return out.getInt(4);
    }

    @Test
    void initGrantsOnlyWhatTheKernelOffersAndAsksForOneMebibyteReads() {
        int n = call(FuseOpcode.INIT, 0, body(64, b -> b.putInt(0, 7).putInt(4, 41).putInt(8, 131072)
                .putInt(12, -1)));
        assertThat(n).isEqualTo(FuseOutHeader.SIZE + FuseInit.OUT_SIZE);
        assertThat(error()).isZero();
        int o = FuseOutHeader.SIZE;
        assertThat(out.getInt(o)).isEqualTo(7);
        assertThat(out.getInt(o + 4)).isEqualTo(31);
        assertThat(out.getInt(o + 8)).isEqualTo(131072);
        assertThat(out.getInt(o + 12)).isEqualTo(FuseInit.WANTED);
        assertThat(out.getInt(o + 20)).as("max_write: 1 MiB (large folios)").isEqualTo(FuseInit.MAX_WRITE)
                .isEqualTo(1 << 20);
        assertThat(out.getShort(o + 28)).as("max_pages").isEqualTo((short) 256);

        // an older kernel without READDIRPLUS or MAX_PAGES gets neither, and its own minor
        call(FuseOpcode.INIT, 0, body(64, b -> b.putInt(0, 7).putInt(4, 26).putInt(12, FuseInit.ASYNC_READ)));
        assertThat(out.getInt(o + 4)).isEqualTo(26);
        assertThat(out.getInt(o + 12)).isEqualTo(FuseInit.ASYNC_READ);

        call(FuseOpcode.INIT, 0, body(64, b -> b.putInt(0, 8)));
        assertThat(error()).isEqualTo(-Errno.EINVAL);
    }

    @Test
    void missingNamesAreCachedNegativeEntries() {
        int n = call(FuseOpcode.LOOKUP, 1, "nothing\0".getBytes(StandardCharsets.UTF_8));
        assertThat(error()).isZero();
        assertThat(n).isEqualTo(FuseOutHeader.SIZE + FuseEntryOut.SIZE);
        assertThat(out.getLong(FuseOutHeader.SIZE)).as("node id 0: negative").isZero();
        assertThat(out.getLong(FuseOutHeader.SIZE + 16)).as("entry_valid").isEqualTo(KernelDispatcher.VALID_SECS);
        assertThat(dispatcher.takeRootNegatives()).containsExactly("nothing");
        assertThat(dispatcher.takeRootNegatives()).isEmpty();

        call(FuseOpcode.GETATTR, 424242, new byte[16]);
        assertThat(error()).as("an unknown node").isEqualTo(-Errno.ENOENT);
    }

    @Test
    void rootAttributesAndStatfs() {
        assertThat(call(FuseOpcode.GETATTR, 1, new byte[16])).isEqualTo(FuseOutHeader.SIZE + FuseEntryOut.ATTR_OUT_SIZE);
        int attr = FuseOutHeader.SIZE + 16;
        assertThat(out.getLong(attr)).as("ino").isEqualTo(1);
        assertThat(out.getInt(attr + 60)).as("mode").isEqualTo(FsOps.PSEUDO_DIR_MODE);
        assertThat(out.getInt(attr + 64)).as("nlink").isEqualTo(2);
        assertThat(out.getInt(attr + 80)).as("blksize").isEqualTo(4096);

        assertThat(call(FuseOpcode.STATFS, 1, new byte[0])).isEqualTo(FuseOutHeader.SIZE + FuseStatfsOut.SIZE);
        assertThat(out.getInt(FuseOutHeader.SIZE + 44)).as("namelen").isEqualTo(255);
        assertThat(out.getInt(FuseOutHeader.SIZE + 40)).as("bsize").isEqualTo(4096);
    }

    @Test
    void readdirOffsetsAreEntryIndexesAndAnswersFitTheBuffer() {
        int n = call(FuseOpcode.READDIR, 1, readIn(0, 4096));
        assertThat(n).isEqualTo(FuseOutHeader.SIZE + 2 * 32);
        assertThat(dirent(FuseOutHeader.SIZE)).isEqualTo(".@1");
        assertThat(dirent(FuseOutHeader.SIZE + 32)).isEqualTo("..@2");
        assertThat(out.getInt(FuseOutHeader.SIZE + 20)).as("DT_DIR").isEqualTo(4);

        assertThat(call(FuseOpcode.READDIR, 1, readIn(1, 4096))).isEqualTo(FuseOutHeader.SIZE + 32);
        assertThat(dirent(FuseOutHeader.SIZE)).isEqualTo("..@2");
        assertThat(call(FuseOpcode.READDIR, 1, readIn(2, 4096))).as("past the end").isEqualTo(FuseOutHeader.SIZE);
        assertThat(call(FuseOpcode.READDIR, 1, readIn(0, 40))).as("room for one").isEqualTo(FuseOutHeader.SIZE + 32);

        // READDIRPLUS: an entry_out before each dirent, node id 0 for "." and ".." (the kernel skips them)
        n = call(FuseOpcode.READDIRPLUS, 1, readIn(0, 4096));
        assertThat(n).isEqualTo(FuseOutHeader.SIZE + 2 * (FuseEntryOut.SIZE + 32));
        assertThat(out.getLong(FuseOutHeader.SIZE)).isZero();
        assertThat(dirent(FuseOutHeader.SIZE + FuseEntryOut.SIZE)).isEqualTo(".@1");
        assertThat(call(FuseOpcode.READDIRPLUS, 1, readIn(0, FuseEntryOut.SIZE + 31))).as("no room")
                .isEqualTo(FuseOutHeader.SIZE);
    }

    @Test
    void openFlushAndWritesAreEnosysForgetAndInterruptGetNoAnswer() {
        for (int op : new int[]{FuseOpcode.OPEN, FuseOpcode.OPENDIR, FuseOpcode.FLUSH, 4 /* SETATTR */,
                16 /* WRITE */, 99}) {
            assertThat(call(op, 1, new byte[64])).isEqualTo(FuseOutHeader.SIZE);
            assertThat(error()).as("opcode %d", op).isEqualTo(-Errno.ENOSYS);
        }
        assertThat(call(FuseOpcode.FORGET, 1, new byte[8])).isZero();
        assertThat(call(FuseOpcode.BATCH_FORGET, 0, new byte[8])).isZero();
        assertThat(call(FuseOpcode.INTERRUPT, 0, new byte[8])).isZero();
        assertThat(call(FuseOpcode.READ, 1, readIn(0, 4096))).isEqualTo(FuseOutHeader.SIZE);
        assertThat(error()).as("READ of a directory").isEqualTo(-Errno.EISDIR);
    }

    @Test
    void xattrsOfAPseudoDirectory() {
        call(FuseOpcode.GETXATTR, 1, body(8 + 10, b -> b.put(8, "user.x\0".getBytes(StandardCharsets.UTF_8))));
        assertThat(error()).isEqualTo(-Errno.ENODATA);
        assertThat(call(FuseOpcode.LISTXATTR, 1, new byte[8])).as("size probe").isEqualTo(FuseOutHeader.SIZE + 8);
        assertThat(out.getInt(FuseOutHeader.SIZE)).isZero();

        KernelDispatcher off = new KernelDispatcher(new FsOps(new MountTable(), false, new EventRing(), false));
        in.clear();
        in.putInt(0, FuseInHeader.SIZE + 8).putInt(4, FuseOpcode.LISTXATTR).putLong(8, 5).putLong(16, 1);
        off.handle(in, FuseInHeader.SIZE + 8, out, data);
        assertThat(error()).as("xattrs disabled").isEqualTo(-Errno.ENOSYS);
    }

    private static byte[] readIn(long offset, int size) {
        return body(40, b -> b.putLong(8, offset).putInt(16, size));
    }

    /** "name@next-offset" of the dirent at {@code o}. */
    private String dirent(int o) {
        int len = out.getInt(o + 16);
        byte[] name = new byte[len];
        out.get(o + FuseDirent.HEADER, name);
        return new String(name, StandardCharsets.UTF_8) + "@" + out.getLong(o + 8);
    }
}
