package dev.nydus4j.rafs.v6;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Base of the on-disk flyweights: a fixed-size window {@code [base, base + size)} of a little-endian buffer with
 * absolute accessors relative to {@code base}. Subclasses add named getters/setters over their *_OFFSET constants.
 * Not thread-safe when written.
 */
abstract class LeStruct {
    final ByteBuffer buf;
    final int base;

    LeStruct(ByteBuffer buf, int base, int size) {
        if (base < 0 || size < 0 || base > buf.limit() - size) {
            throw new IndexOutOfBoundsException("structure of " + size + " bytes at " + base
                    + " does not fit a buffer of " + buf.limit() + " bytes");
        }
        // only absolute accesses are made, so a little-endian buffer is shared rather than duplicated per structure
        this.buf = buf.order() == ByteOrder.LITTLE_ENDIAN ? buf : buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.base = base;
    }

    /** Absolute offset of this structure in its buffer (= file offset when the buffer is the whole file). */
    final long offset() {
        return base;
    }

    final int u8(int off) {
        return buf.get(base + off) & 0xFF;
    }

    final int u16(int off) {
        return buf.getShort(base + off) & 0xFFFF;
    }

    final long u32(int off) {
        return buf.getInt(base + off) & 0xFFFF_FFFFL;
    }

    final int i32(int off) {
        return buf.getInt(base + off);
    }

    final long u64(int off) {
        return buf.getLong(base + off);
    }

    final byte[] bytes(int off, int len) {
        byte[] b = new byte[len];
        buf.get(base + off, b);
        return b;
    }

    final void put8(int off, int v) {
        buf.put(base + off, (byte) v);
    }

    final void put16(int off, int v) {
        buf.putShort(base + off, (short) v);
    }

    final void put32(int off, long v) {
        buf.putInt(base + off, (int) v);
    }

    final void put64(int off, long v) {
        buf.putLong(base + off, v);
    }

    final void putBytes(int off, byte[] b, int maxLen) {
        if (b.length > maxLen) {
            throw new IllegalArgumentException(b.length + " bytes do not fit a field of " + maxLen + " bytes");
        }
        buf.put(base + off, b);
    }

    /** True when {@code [off, off+len)} of this structure is all zero (reserved areas). */
    final boolean isZero(int off, int len) {
        for (int i = 0; i < len; i++) {
            if (buf.get(base + off + i) != 0) {
                return false;
            }
        }
        return true;
    }
}
