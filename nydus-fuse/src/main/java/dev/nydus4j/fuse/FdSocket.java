package dev.nydus4j.fuse;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Unix stream socket that passes file descriptors ({@code SCM_RIGHTS}), which Java's own Unix-domain channels
 * cannot do: the transport of upstream's supervisor protocol. One side sends a byte message (nydusd's saved state)
 * with exactly one descriptor (its /dev/fuse session) in the first {@code sendmsg(2)} and closes; the other reads
 * until end of stream and collects the descriptors (nydus-snapshotter's {@code pkg/supervisor}: the supervisor
 * listens; nydusd connects both to save (sendfd) and to load (takeover)). Linux, 64-bit only (the {@code msghdr}
 * layout is written by hand). Not thread-safe.
 */
public final class FdSocket implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CTRUNC = 8;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int SHUT_RDWR = 2;
    private static final short POLLIN = 1;
    private static final int SUN_PATH_MAX = 107;
    private static final int MSGHDR_SIZE = 56;
    private static final int CMSG_HEADER = 16;
    /** Bytes read per recvmsg(2). */
    private static final int CHUNK = 256 * 1024;
    /** Descriptors one message may carry (upstream's receiver takes up to 64 and keeps exactly one). */
    private static final int MAX_FDS = 64;

    private final int fd;
    private final Path path;
    private volatile boolean closed;

    /** A received message: its bytes and the descriptors that came with it (now owned by the receiver). */
    public record Message(byte[] data, int[] fds) {
    }

    private FdSocket(int fd, Path path) {
        this.fd = fd;
        this.path = path;
    }

    private static void require64Bit() {
        if (Native.POINTER_SIZE != 8) {
            throw new UnsupportedOperationException("descriptor passing is implemented for 64-bit Linux only");
        }
    }

    private static Memory address(Path path) throws IOException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length > SUN_PATH_MAX) {
            throw new IOException("socket path " + path + " is " + p.length + " bytes long: at most " + SUN_PATH_MAX
                    + " fit in sockaddr_un");
        }
        Memory a = new Memory(2 + SUN_PATH_MAX + 1);
        a.clear();
        a.setShort(0, (short) AF_UNIX);
        a.write(2, p, 0, p.length);
        return a;
    }

    private static int addressLength(Path path) {
        return 2 + path.toString().getBytes(StandardCharsets.UTF_8).length + 1;
    }

    private static int newSocket() throws IOException {
        require64Bit();
        try {
            return LibC.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw new IOException("socket(AF_UNIX) failed: errno " + e.getErrorCode(), e);
        }
    }

    /** Binds and listens at {@code path} (an existing file there is replaced, as upstream's supervisor does). */
    public static FdSocket listen(Path path) throws IOException {
        Files.deleteIfExists(path);
        if (path.getParent() != null) {
            Files.createDirectories(path.getParent());
        }
        Memory a = address(path);
        int s = newSocket();
        try {
            LibC.bind(s, Pointer.nativeValue(a), addressLength(path));
            LibC.listen(s, 4);
        } catch (LastErrorException e) {
            closeFd(s);
            throw new IOException("cannot listen on " + path + ": errno " + e.getErrorCode(), e);
        }
        return new FdSocket(s, path);
    }

    /** Connects to the listening socket at {@code path}. */
    public static FdSocket connect(Path path) throws IOException {
        Memory a = address(path);
        int s = newSocket();
        try {
            LibC.connect(s, Pointer.nativeValue(a), addressLength(path));
        } catch (LastErrorException e) {
            closeFd(s);
            throw new IOException("cannot connect to " + path + ": errno " + e.getErrorCode()
                    + (e.getErrorCode() == 111 ? " (ECONNREFUSED: nobody listens there)"
                    : e.getErrorCode() == 2 ? " (ENOENT: no such socket)" : ""), e);
        }
        return new FdSocket(s, path);
    }

    /**
     * Accepts one connection of a {@link #listen} socket.
     *
     * @param timeoutMs how long to wait; negative = for ever
     * @throws SocketTimeoutException when nobody connected in time
     * @throws IOException            when the socket was closed meanwhile (the wait then ends at once) or accept fails
     */
    public FdSocket accept(long timeoutMs) throws IOException {
        awaitReadable(timeoutMs, "a connection on " + path);
        try {
            return new FdSocket(LibC.accept4(fd, 0, 0, SOCK_CLOEXEC), path);
        } catch (LastErrorException e) {
            throw new IOException("accept on " + path + " failed: errno " + e.getErrorCode()
                    + (closed ? " (socket closed)" : ""), e);
        }
    }

    private void awaitReadable(long timeoutMs, String what) throws IOException {
        Memory pfd = new Memory(8);
        long deadline = timeoutMs < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMs * 1_000_000L;
        while (true) {
            if (closed) {
                throw new IOException("socket " + path + " was closed while waiting for " + what);
            }
            long left = deadline == Long.MAX_VALUE ? 200 : (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                throw new SocketTimeoutException("no " + what + " within " + timeoutMs + " ms");
            }
            pfd.setInt(0, fd);
            pfd.setShort(4, POLLIN);
            pfd.setShort(6, (short) 0);
            int n;
            try {
                // short slices: a close from another thread is noticed within 200 ms
                n = LibC.poll(Pointer.nativeValue(pfd), 1, (int) Math.min(left, 200));
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                throw new IOException("poll on " + path + " failed: errno " + e.getErrorCode(), e);
            }
            if (n > 0) {
                return;
            }
        }
    }

    /**
     * Sends {@code data} with {@code passFd} attached to its first bytes ({@code passFd < 0}: none) and shuts the
     * sending side down, so the receiver sees end of stream.
     */
    public void send(byte[] data, int passFd) throws IOException {
        Memory buf = new Memory(Math.max(1, data.length));
        if (data.length > 0) {
            buf.write(0, data, 0, data.length);
        }
        Memory iov = new Memory(16);
        Memory msg = new Memory(MSGHDR_SIZE);
        Memory control = new Memory(CMSG_HEADER + 8);
        int off = 0;
        boolean fdSent = passFd < 0;
        while (off < data.length || !fdSent) {
            int len = data.length - off;
            msg.clear();
            iov.setLong(0, Pointer.nativeValue(buf) + off);
            iov.setLong(8, len);
            msg.setLong(16, Pointer.nativeValue(iov));
            msg.setLong(24, 1);
            if (!fdSent) {
                control.clear();
                control.setLong(0, CMSG_HEADER + 4); // CMSG_LEN(sizeof(int))
                control.setInt(8, SOL_SOCKET);
                control.setInt(12, SCM_RIGHTS);
                control.setInt(16, passFd);
                msg.setLong(32, Pointer.nativeValue(control));
                msg.setLong(40, CMSG_HEADER + 8); // CMSG_SPACE(sizeof(int))
            }
            long n;
            try {
                n = LibC.sendmsg(fd, Pointer.nativeValue(msg), MSG_NOSIGNAL);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) {
                    continue;
                }
                throw new IOException("sendmsg to " + path + " failed after " + off + " of " + data.length
                        + " bytes: errno " + e.getErrorCode(), e);
            }
            fdSent = true;
            off += (int) n;
        }
        try {
            LibC.shutdown(fd, 1); // SHUT_WR: end of stream for the receiver
        } catch (LastErrorException ignored) {
            // the peer may be gone already; what it read is what it got
        }
    }

    /**
     * Reads until end of stream.
     *
     * @param maxBytes  the most bytes accepted
     * @param timeoutMs how long to wait for each part; negative = for ever
     * @return the bytes and every descriptor received (the caller owns and must close them)
     * @throws IOException on a timeout, too many bytes, or a truncated control message (received descriptors are
     *                     closed then)
     */
    public Message receive(int maxBytes, long timeoutMs) throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int[] fds = new int[0];
        Memory buf = new Memory(CHUNK);
        Memory iov = new Memory(16);
        Memory msg = new Memory(MSGHDR_SIZE);
        int controlSize = CMSG_HEADER * MAX_FDS + 8 * MAX_FDS;
        Memory control = new Memory(controlSize);
        try {
            while (true) {
                awaitReadable(timeoutMs, "data from " + path);
                msg.clear();
                iov.setLong(0, Pointer.nativeValue(buf));
                iov.setLong(8, CHUNK);
                msg.setLong(16, Pointer.nativeValue(iov));
                msg.setLong(24, 1);
                msg.setLong(32, Pointer.nativeValue(control));
                msg.setLong(40, controlSize);
                long n;
                try {
                    n = LibC.recvmsg(fd, Pointer.nativeValue(msg), MSG_CMSG_CLOEXEC);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Errno.EINTR) {
                        continue;
                    }
                    throw new IOException("recvmsg from " + path + " failed: errno " + e.getErrorCode(), e);
                }
                fds = collectFds(control, msg.getLong(40), fds);
                if ((msg.getInt(48) & MSG_CTRUNC) != 0) {
                    throw new IOException("the control message from " + path + " was truncated (more than "
                            + MAX_FDS + " descriptors?)");
                }
                if (n == 0) {
                    return new Message(data.toByteArray(), fds);
                }
                if (data.size() + n > maxBytes) {
                    throw new IOException("more than " + maxBytes + " bytes from " + path);
                }
                data.write(buf.getByteArray(0, (int) n), 0, (int) n);
            }
        } catch (IOException | RuntimeException e) {
            for (int f : fds) {
                closeFd(f);
            }
            throw e;
        }
    }

    private static int[] collectFds(Memory control, long length, int[] fds) {
        long off = 0;
        while (off + CMSG_HEADER <= length) {
            long len = control.getLong(off);
            if (len < CMSG_HEADER || off + len > length) {
                break;
            }
            if (control.getInt(off + 8) == SOL_SOCKET && control.getInt(off + 12) == SCM_RIGHTS) {
                int n = (int) ((len - CMSG_HEADER) / 4);
                int[] more = Arrays.copyOf(fds, fds.length + n);
                for (int i = 0; i < n; i++) {
                    more[fds.length + i] = control.getInt(off + CMSG_HEADER + 4L * i);
                }
                fds = more;
            }
            off += (len + 7) & ~7L;
        }
        return fds;
    }

    /** The socket's path (the listening one's, or the one connected to). */
    public Path path() {
        return path;
    }

    /** Closes a descriptor received with a {@link Message}, ignoring errors. */
    public static void closeFd(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // nothing to do
        }
    }

    /** Closes the socket; a thread waiting in {@link #accept} or {@link #receive} gives up within 200 ms. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                LibC.shutdown(fd, SHUT_RDWR);
            } catch (LastErrorException ignored) {
                // a listening socket: nothing to shut down
            }
            closeFd(fd);
        }
    }
}
