package dev.nydus4j.storage.blob;

/**
 * Little-endian integer stores into byte arrays, written as plain byte stores on purpose: C2 on OpenJDK 17.0.15
 * miscompiles int/long {@code VarHandle} stores into freshly allocated byte arrays once the code is hot (the
 * stores vanish; seen in BLAKE3's output serialisation, see {@code Blake3JitRegressionTest}). Loads through
 * {@code VarHandle} are unaffected and still used by the decoders.
 */
final class LittleEndian {
    private LittleEndian() {
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) v);
        putInt(b, off + 4, (int) (v >>> 32));
    }
}
