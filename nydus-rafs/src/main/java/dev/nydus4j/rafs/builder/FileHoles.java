package dev.nydus4j.rafs.builder;

import com.sun.jna.LastErrorException;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The holes of a sparse source file, found with {@code lseek(SEEK_DATA/SEEK_HOLE)} (libc through JNA), so that a
 * directory build skips reading them: a hole reads as zeros, and reading gigabytes of zeros costs the kernel as much
 * as reading data (a 5 GiB sparse file took 13 s of system time). The chunks of a hole are the all-zero chunk, which
 * the build stores once and refers to everywhere. Without libc, or on a file system without SEEK_DATA, there are no
 * holes and files are read whole ({@link SourceLibC}). Immutable.
 */
final class FileHoles {
    private static final int O_RDONLY = 0;
    private static final int O_NOFOLLOW = 0x20000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    /** Data ranges kept at most: a file fragmented beyond this is read whole from the last one kept on. */
    private static final int MAX_RANGES = 1 << 16;

    private static final SourceLibC.Calls LIBC = SourceLibC.CALLS;

    /** Start and end of each data range, ascending: {@code data[2i] <= x < data[2i+1]} is data. */
    private final long[] data;
    private final int ranges;

    private FileHoles(long[] data, int ranges) {
        this.data = data;
        this.ranges = ranges;
    }

    /**
     * The holes of {@code p} ({@code size} bytes), or null when it has none (or they cannot be found: the file is
     * then read whole, which is always correct).
     */
    static FileHoles of(Path p, long size) {
        if (LIBC == null || size <= 0) {
            return null;
        }
        int fd;
        try {
            fd = LIBC.open(SourceLibC.cpath(p), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        } catch (LastErrorException e) {
            return null; // the caller's own open reports the problem
        }
        try {
            return scan(fd, size);
        } finally {
            try {
                LIBC.close(fd);
            } catch (LastErrorException ignored) {
                // read-only descriptor: nothing was lost
            }
        }
    }

    private static FileHoles scan(int fd, long size) {
        long[] data = new long[16];
        int n = 0;
        long pos = 0;
        try {
            while (pos < size) {
                long start;
                try {
                    start = LIBC.lseek(fd, pos, SEEK_DATA);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == ENXIO) {
                        break; // a hole up to the end
                    }
                    return null; // EINVAL: no SEEK_DATA here
                }
                if (start >= size) {
                    break;
                }
                long end = Math.min(size, LIBC.lseek(fd, start, SEEK_HOLE));
                if (n / 2 == MAX_RANGES - 1) {
                    end = size; // too fragmented to be worth tracking: the rest counts as data
                }
                if (n == data.length) {
                    data = Arrays.copyOf(data, n * 2);
                }
                data[n++] = start;
                data[n++] = end;
                pos = end;
            }
        } catch (LastErrorException e) {
            return null;
        }
        if (n == 2 && data[0] == 0 && data[1] >= size) {
            return null; // no hole
        }
        return new FileHoles(data, n / 2);
    }

    /** Whether {@code [off, off + len)} lies entirely in a hole (reads as zeros). */
    boolean isHole(long off, long len) {
        long end = off + len;
        // the first range ending after off: if it starts at or after end, the span holds no data
        int lo = 0;
        int hi = ranges;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (data[2 * mid + 1] <= off) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == ranges || data[2 * lo] >= end;
    }
}
