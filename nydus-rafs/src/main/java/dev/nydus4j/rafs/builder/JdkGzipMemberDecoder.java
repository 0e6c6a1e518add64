package dev.nydus4j.rafs.builder;

import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/** {@link GzipMemberDecoder} on the JDK's {@link Inflater} (the system zlib) and {@link CRC32}. */
final class JdkGzipMemberDecoder implements GzipMemberDecoder {
    private static final int TRAILER_BYTES = 8;

    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private final byte[] trailer = new byte[TRAILER_BYTES];
    private int trailerBytes;
    private boolean inTrailer;
    private boolean ended;
    /** While in the trailer: the input {@code in[inPos, inLimit)} (the inflater holds it before). */
    private byte[] in;
    private int inPos;
    private int inLimit;

    @Override
    public void startMember() {
        inflater.reset();
        crc.reset();
        trailerBytes = 0;
        inTrailer = false;
        ended = false;
    }

    @Override
    public void setInput(byte[] b, int off, int len) {
        in = b;
        inPos = off;
        inLimit = off + len;
        if (!inTrailer) {
            inflater.setInput(b, off, len);
        }
    }

    @Override
    public int remaining() {
        return inTrailer ? inLimit - inPos : inflater.getRemaining();
    }

    @Override
    public int inflate(byte[] b, int off, int len) throws ZipException {
        if (ended) {
            return 0;
        }
        if (!inTrailer) {
            int n;
            try {
                n = inflater.inflate(b, off, len);
            } catch (DataFormatException e) {
                throw new ZipException(e.getMessage());
            }
            if (n > 0) {
                crc.update(b, off, n);
                return n;
            }
            if (!inflater.finished()) {
                if (inflater.needsDictionary()) {
                    throw new ZipException("member needs a preset dictionary (not gzip data)");
                }
                return 0; // needs input
            }
            inTrailer = true;
            inPos = inLimit - inflater.getRemaining();
        }
        while (trailerBytes < TRAILER_BYTES && inPos < inLimit) {
            trailer[trailerBytes++] = in[inPos++];
        }
        if (trailerBytes == TRAILER_BYTES) {
            ended = true;
            checkTrailer();
        }
        return 0;
    }

    private void checkTrailer() throws TrailerMismatchException {
        long crcStored = uint32(0);
        long sizeStored = uint32(4);
        if (crcStored != crc.getValue()) {
            throw new TrailerMismatchException("CRC-32 " + Long.toHexString(crcStored) + " in the trailer vs "
                    + Long.toHexString(crc.getValue()) + " of the data");
        }
        long size = inflater.getBytesWritten() & 0xffff_ffffL;
        if (sizeStored != size) {
            throw new TrailerMismatchException("size " + sizeStored + " in the trailer vs " + size
                    + " (mod 2^32) of the data");
        }
    }

    private long uint32(int at) {
        return (trailer[at] & 0xffL) | (trailer[at + 1] & 0xffL) << 8 | (trailer[at + 2] & 0xffL) << 16
                | (trailer[at + 3] & 0xffL) << 24;
    }

    @Override
    public boolean memberEnded() {
        return ended;
    }

    @Override
    public boolean inTrailer() {
        return inTrailer && !ended;
    }

    @Override
    public void close() {
        inflater.end();
    }
}
