package dev.nydus4j.rafs.builder;

import java.util.zip.ZipException;

/**
 * Decodes the body of one gzip member at a time: its deflate data and its 8-byte trailer, whose CRC-32 and ISIZE
 * are checked against what was inflated. {@link GzipMembersInputStream} parses the member headers, feeds the
 * compressed bytes and names offsets in errors; implementations only decode. Not thread-safe.
 */
interface GzipMemberDecoder extends AutoCloseable {

    /** Starts a member whose deflate data begins at the next input byte. */
    void startMember();

    /**
     * Hands over {@code b[off, off + len)} as the next input; the array is not modified by the caller until
     * {@link #remaining()} is 0 or the member has ended.
     */
    void setInput(byte[] b, int off, int len);

    /** Input bytes handed over and not consumed yet (after the end of a member: the bytes that follow it). */
    int remaining();

    /**
     * Inflates into {@code b[off, off + len)}.
     *
     * @return bytes produced; 0 when the input is used up ({@link #remaining()} is 0) or the member has ended
     * @throws ZipException corrupt deflate data, or a trailer that does not match the data
     *                      ({@link TrailerMismatchException}); messages do not name the offset
     */
    int inflate(byte[] b, int off, int len) throws ZipException;

    /** Whether the member's deflate data and trailer have been consumed and checked. */
    boolean memberEnded();

    /** Whether the deflate data has ended and the trailer is (partly) still to come. */
    boolean inTrailer();

    @Override
    void close();

    /** The member's trailer disagrees with the data inflated: its CRC-32 or its size. */
    final class TrailerMismatchException extends ZipException {
        private static final long serialVersionUID = 1L;

        TrailerMismatchException(String detail) {
            super(detail);
        }
    }
}
