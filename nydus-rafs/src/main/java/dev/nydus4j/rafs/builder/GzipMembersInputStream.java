package dev.nydus4j.rafs.builder;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipException;

/**
 * Decompresses a gzip stream (RFC 1952), concatenated members included, like {@link java.util.zip.GZIPInputStream}
 * with the same checks (header CRC when FHCRC is set, CRC-32 and ISIZE of every member) and the same tolerance of
 * bytes after the last member that do not start another member (ignored). Member headers are parsed here; each
 * member's deflate data and trailer go to a {@link GzipMemberDecoder}: ISA-L's when it is installed (about four
 * times faster than zlib), else the JDK's zlib.
 *
 * <p>Why not the JDK's stream: a tar.gz layer conversion inflates on one thread while the other cores digest and
 * compress, and every CPU second the JVM spends elsewhere is taken from them. With {@code GZIPInputStream} under
 * the tar reader's {@code BufferedInputStream} and above another one (to sniff the magic), C2 sometimes compiled
 * {@code BufferedInputStream.read1} with both levels and the whole gzip member logic inlined: 22-72 KB of code and
 * 0.16-0.83 s of compiler time in 3 of 9 conversions of a 541 MB tar.gz on 2 cores. Here the compressed input is
 * read in large blocks straight into the array the decoder reads, and the hot {@link #read(byte[], int, int)} is a
 * few lines, header parsing being a separate method (benchmarks/RESULTS.md).
 * Errors name the offset in the compressed stream (the caller adds which stream). Not thread-safe; {@link #close()}
 * closes the decoder, not the source.
 */
final class GzipMembersInputStream extends InputStream {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int MAX_ZERO_READS = 1000;

    private final InputStream in;
    private final byte[] buf;
    /** Compressed bytes {@code buf[pos, limit)} not yet given to the inflater (or the header/trailer parser). */
    private int pos;
    private int limit;
    /** Compressed bytes consumed from {@link #in} before {@code buf[0]}. */
    private long bufStart;
    private final GzipMemberDecoder decoder;
    /** The decoder holds {@code buf[pos, limit)} as its input. */
    private boolean decoderHasInput;
    private boolean inMember;
    private boolean eof;
    private boolean closed;
    private final byte[] one = new byte[1];

    /**
     * @param in       the compressed stream (not closed here)
     * @param head     bytes already read from the start of the stream (the caller sniffed the magic): the stream
     *                 is {@code head} followed by what {@code in} still has
     * @param bufSize  compressed bytes read from {@code in} at a time
     * @throws ZipException when the stream does not start with a gzip header
     */
    GzipMembersInputStream(InputStream in, byte[] head, int bufSize) throws IOException {
        this(in, head, bufSize, IsalGzipMemberDecoder.available() ? new IsalGzipMemberDecoder()
                : new JdkGzipMemberDecoder());
    }

    /** Decides, once per JVM, which member decoder streams get (ISA-L's needs loading and a self-test). */
    static void preloadDecoder() {
        IsalGzipMemberDecoder.available();
    }

    /** As {@link #GzipMembersInputStream(InputStream, byte[], int)}, with this decoder (closed with the stream). */
    GzipMembersInputStream(InputStream in, byte[] head, int bufSize, GzipMemberDecoder decoder) throws IOException {
        this.decoder = decoder;
        if (bufSize < Math.max(512, head.length)) {
            throw new IllegalArgumentException("buffer of " + bufSize + " bytes; at least 512 and the head's "
                    + head.length + " needed");
        }
        this.in = in;
        this.buf = new byte[bufSize];
        System.arraycopy(head, 0, buf, 0, head.length);
        this.limit = head.length;
        boolean started = false;
        try {
            if (!readHeader()) {
                throw new EOFException("empty gzip stream");
            }
            started = true;
        } finally {
            if (!started) {
                decoder.close();
            }
        }
        decoder.startMember();
        inMember = true;
    }

    @Override
    public int read() throws IOException {
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("gzip stream closed");
        }
        if (len == 0) {
            return 0;
        }
        while (!eof) {
            if (!inMember) {
                nextMember();
                continue;
            }
            if (!decoderHasInput) {
                if (pos == limit && !fill()) {
                    throw new EOFException("gzip stream truncated in the "
                            + (decoder.inTrailer() ? "member trailer" : "compressed data") + " at byte " + offset());
                }
                decoder.setInput(buf, pos, limit - pos);
                decoderHasInput = true;
            }
            int n;
            try {
                n = decoder.inflate(b, off, len);
            } catch (GzipMemberDecoder.TrailerMismatchException e) {
                throw new ZipException("corrupt gzip member: " + e.getMessage() + " (trailer at byte "
                        + (offset() - 8) + ")");
            } catch (ZipException e) {
                throw new ZipException("corrupt gzip data near compressed byte " + offset() + ": "
                        + e.getMessage());
            }
            if (n > 0) {
                return n;
            }
            if (decoder.memberEnded()) {
                pos = limit - decoder.remaining();
                decoderHasInput = false;
                inMember = false;
            } else if (decoder.remaining() == 0) {
                pos = limit;
                decoderHasInput = false;
            } else {
                throw new IOException("gzip decoder made no progress at compressed byte " + offset());
            }
        }
        return -1;
    }

    /**
     * After a member's trailer: another member, or the end: a clean end of input, or bytes that do not form a
     * valid gzip header, which are ignored as the JDK's stream ignores them.
     */
    private void nextMember() throws IOException {
        boolean another;
        try {
            another = readHeader();
        } catch (ZipException | EOFException e) {
            another = false;
        }
        if (another) {
            decoder.startMember();
            inMember = true;
        } else {
            eof = true;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            decoder.close();
        }
    }

    /** Offset in the compressed stream of the next byte not consumed (for error messages). */
    private long offset() {
        return bufStart + (decoderHasInput ? limit - decoder.remaining() : pos);
    }

    /** Refills {@link #buf} (everything in it was consumed); false at the end of the input. */
    private boolean fill() throws IOException {
        bufStart += limit;
        pos = 0;
        limit = 0;
        int n = in.read(buf, 0, buf.length);
        // InputStream.read blocks for at least one byte; a source breaking that gets a few retries, not a spin
        for (int zeroReads = 1; n == 0; zeroReads++) {
            if (zeroReads == MAX_ZERO_READS) {
                throw new IOException("the compressed source returned no data " + MAX_ZERO_READS
                        + " times in a row at byte " + bufStart);
            }
            n = in.read(buf, 0, buf.length);
        }
        if (n < 0) {
            return false;
        }
        limit = n;
        return true;
    }

    /** Next byte of the compressed stream outside the deflate data, or -1 at its end. */
    private int nextByte() throws IOException {
        if (pos == limit && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    private int requireByte(String what) throws IOException {
        int c = nextByte();
        if (c < 0) {
            throw new EOFException("gzip stream truncated in the " + what + " at byte " + offset());
        }
        return c;
    }

    /**
     * Parses a member header.
     *
     * @return whether a member starts: false at a clean end of input
     */
    private boolean readHeader() throws IOException {
        long start = offset();
        int id1 = nextByte();
        if (id1 < 0) {
            return false;
        }
        int id2 = nextByte();
        if (id1 != 0x1f || id2 != 0x8b) {
            throw new ZipException("not in gzip format at byte " + start + " (magic " + hex(id1) + " "
                    + hex(id2) + ")");
        }
        CRC32 hcrc = new CRC32();
        hcrc.update(id1);
        hcrc.update(id2);
        int cm = header(hcrc, start);
        if (cm != 8) {
            throw new ZipException("unsupported gzip compression method " + cm
                    + " (only 8, deflate) in the member header at byte " + start);
        }
        int flags = header(hcrc, start); // reserved bits are not checked (nor by the JDK's stream)
        for (int i = 0; i < 6; i++) { // MTIME, XFL, OS
            header(hcrc, start);
        }
        if ((flags & FEXTRA) != 0) {
            int xlen = header(hcrc, start) | header(hcrc, start) << 8;
            for (int i = 0; i < xlen; i++) {
                header(hcrc, start);
            }
        }
        if ((flags & FNAME) != 0) {
            while (header(hcrc, start) != 0) {
                // file name, NUL-terminated
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (header(hcrc, start) != 0) {
                // comment, NUL-terminated
            }
        }
        if ((flags & FHCRC) != 0) {
            int expected = (int) (hcrc.getValue() & 0xffff);
            int stored = requireByte("member header") | requireByte("member header") << 8;
            if (stored != expected) {
                throw new ZipException("corrupt gzip header at byte " + start + ": header CRC "
                        + stored + " vs expected " + expected);
            }
        }
        return true;
    }

    /** One header byte, added to the header CRC. */
    private int header(CRC32 hcrc, long start) throws IOException {
        int c = nextByte();
        if (c < 0) {
            throw new EOFException("gzip stream truncated in the member header that starts at byte "
                    + start);
        }
        hcrc.update(c);
        return c;
    }

    private static String hex(int b) {
        return b < 0 ? "EOF" : String.format("%02x", b);
    }
}
