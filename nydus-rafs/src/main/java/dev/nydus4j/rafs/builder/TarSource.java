package dev.nydus4j.rafs.builder;

import dev.nydus4j.api.FileType;
import dev.nydus4j.rafs.tree.Inode;
import dev.nydus4j.rafs.tree.Node;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarUtils;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Reads an OCI layer tar (plain, gzip or zstd, detected from the magic) into a layer tree in one pass, cutting
 * regular files into chunks while their data streams by. Every tar entry type is handled (ustar, GNU and PAX
 * long names, hard links, symlinks, devices, fifos, directories, PAX/GNU sparse files, PAX and LIBARCHIVE
 * xattrs, PAX nanosecond mtimes). Hostile input fails with an {@link IOException} naming the entry; no
 * allocation is sized from a header value. Not thread-safe.
 */
final class TarSource {
    private static final Logger LOG = LoggerFactory.getLogger(TarSource.class);
    private static final int RECORD = 512;
    private static final String SCHILY_XATTR = "SCHILY.xattr.";
    private static final String LIBARCHIVE_XATTR = "LIBARCHIVE.xattr.";
    /** RAFS symlink targets are at most one block (spec 3.11); Linux allows 4095 + NUL. */
    static final int MAX_SYMLINK_BYTES = 4095;
    /** Compressed bytes read at a time from a tar.gz source. */
    private static final int GZIP_READ_BYTES = 1 << 18;

    private final String resource;
    private final FileChunker chunker;
    private final Node lowerRoot;
    private final LayerTree tree = new LayerTree();
    private long entries;

    private TarSource(String resource, FileChunker chunker, Node lowerRoot) {
        this.resource = resource;
        this.chunker = chunker;
        this.lowerRoot = lowerRoot;
    }

    /** Reads the whole stream (not closed here) and returns the layer's root. */
    static Node read(InputStream raw, String resource, FileChunker chunker) throws IOException {
        return read(raw, resource, chunker, null);
    }

    /**
     * Like {@link #read(InputStream, String, FileChunker)}, resolving hard links whose target is not in this layer
     * against {@code lowerRootOrNull} (the parent image this layer is built on): the new name then shares the
     * lower file's inode.
     */
    static Node read(InputStream raw, String resource, FileChunker chunker, Node lowerRootOrNull)
            throws IOException {
        TarSource s = new TarSource(resource, chunker, lowerRootOrNull);
        // the decompressor is closed here (zstd's native context) but must not close the caller's stream: zstd-jni's
        // stream would otherwise close it from its finalizer whenever it is collected, e.g. while nydusify still
        // reads the rest of the layer to verify its digest (seen as a ClosedChannelException under load)
        try (InputStream in = decompressing(new KeepOpenInputStream(raw), resource)) {
            s.readAll(in);
        }
        LOG.debug("{}: {} tar entries", resource, s.entries);
        return s.tree.root();
    }

    /** A view of a stream whose {@link #close()} leaves the stream open (it belongs to the caller). */
    private static final class KeepOpenInputStream extends FilterInputStream {
        KeepOpenInputStream(InputStream in) {
            super(in);
        }

        @Override
        public void close() {
            // not the caller's stream
        }
    }

    /** Detects gzip / zstd by magic and wraps the stream accordingly. */
    static InputStream decompressing(InputStream raw, String resource) throws IOException {
        byte[] magic = raw.readNBytes(4);
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            // inflating is the serial part of a tar.gz conversion; see GzipMembersInputStream for why not the JDK's
            // GZIPInputStream (under a BufferedInputStream, with another one below it to sniff the magic)
            return new BufferedInputStream(new GzipMembersInputStream(raw, magic, GZIP_READ_BYTES), 1 << 16);
        }
        InputStream in = new BufferedInputStream(new SequenceInputStream(new ByteArrayInputStream(magic), raw),
                1 << 16);
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return new BufferedInputStream(new ZstdCompressorInputStream(in), 1 << 16);
        }
        return in;
    }

    private void readAll(InputStream in) throws IOException {
        BufferedInputStream bin = in instanceof BufferedInputStream b ? b : new BufferedInputStream(in);
        checkFirstHeader(bin);
        EndTrackingInputStream counted = new EndTrackingInputStream(bin);
        PaxCapturingTarInputStream tin = new PaxCapturingTarInputStream(counted, RECORD * 20, RECORD);
        long lastDataEnd = -1; // stream offset where the last entry's data ends, -1 when unknown
        while (true) {
            TarArchiveEntry e;
            try {
                e = tin.getNextEntry();
            } catch (IOException ex) {
                if (counted.endsAfterCompleteEntry(lastDataEnd)) {
                    // umoci 0.4.7 ends layers right after the last file's data (no padding, no end-of-archive
                    // blocks); the data is all there, so the layer is complete
                    LOG.warn("{}: tar stream ends without padding or end-of-archive blocks after entry {}; "
                            + "taking it as the end of the layer", resource, entries);
                    break;
                }
                throw new IOException(resource + ": broken tar stream after entry " + entries + " at byte "
                        + tin.getBytesRead() + ": " + ex.getMessage(), ex);
            } catch (RuntimeException ex) {
                // commons-compress signals some malformed headers with unchecked exceptions
                throw new IOException(resource + ": malformed tar header after entry " + entries + " at byte "
                        + tin.getBytesRead() + ": " + ex, ex);
            }
            if (e == null) {
                // commons-compress takes a partial last record for the end of the archive: a header cut by the
                // end of the stream would silently drop that entry and everything after it
                long cut = counted.cutHeaderBytes(lastDataEnd);
                if (cut > 0) {
                    throw new IOException(resource + ": truncated tar stream: it ends " + cut
                            + " bytes into the header after entry " + entries + " (at byte " + counted.count()
                            + "; a header is 512 bytes)");
                }
                break;
            }
            entries++;
            lastDataEnd = e.isSparse() ? -1 : tin.getBytesRead() + Math.max(0, e.getSize());
            try {
                addEntry(tin, e, tin.takeRawPaxRecords());
            } catch (IOException | RuntimeException ex) {
                if (ex.getMessage() != null && ex.getMessage().startsWith(resource + ": entry ")) {
                    throw ex;
                }
                throw new IOException(what(e) + ": " + ex.getMessage(), ex);
            }
        }
    }

    /** Rejects non-tar input early with a clear message (random bytes, another format). */
    private void checkFirstHeader(BufferedInputStream in) throws IOException {
        in.mark(RECORD);
        byte[] header;
        try {
            header = in.readNBytes(RECORD);
        } catch (IOException e) { // the decompressor's own message ("Truncated source") names neither what nor where
            throw new IOException(resource + ": cannot read the first tar header: " + e.getMessage(), e);
        }
        in.reset();
        if (header.length == 0) {
            return; // an empty stream is an empty layer
        }
        if (header.length < RECORD) {
            throw new IOException(resource + ": not a tar archive: " + header.length
                    + " bytes, shorter than one 512-byte header");
        }
        boolean allZero = true;
        for (byte b : header) {
            if (b != 0) {
                allZero = false;
                break;
            }
        }
        boolean checksumOk;
        try {
            checksumOk = allZero || TarUtils.verifyCheckSum(header);
        } catch (RuntimeException e) { // the checksum field itself is not octal
            checksumOk = false;
        }
        if (!checksumOk) {
            throw new IOException(resource + ": not a tar archive: first header checksum does not match"
                    + " (expected a tar, tar.gz or tar.zst stream)");
        }
    }

    private String what(TarArchiveEntry e) {
        return resource + ": entry " + entries + " '" + e.getName() + "'";
    }

    private void addEntry(TarArchiveInputStream tin, TarArchiveEntry e, Map<String, byte[]> rawPax)
            throws IOException {
        String what = what(e);
        List<byte[]> path = LayerTree.normalise(e.getName(), what);
        if (e.isLink()) {
            List<byte[]> target = LayerTree.normalise(e.getLinkName(), what + " (hard link target)");
            Node t = tree.lookup(target);
            if (t == null && lowerRoot != null) {
                t = lookupLower(target);
            }
            if (t == null) {
                throw new IOException(what + ": hard link target '" + e.getLinkName()
                        + "' is not an earlier entry of this layer" + (lowerRoot == null
                        ? " (a link into a lower layer needs the parent bootstrap)" : " nor of the parent image"));
            }
            if (t.inode().isDirectory()) {
                throw new IOException(what + ": hard link to directory '" + e.getLinkName() + "' is not allowed");
            }
            if (sameComponents(path, target)) {
                return; // a link to itself: nothing to do
            }
            tree.link(path, t.inode(), what);
            return;
        }
        FileType type = TarEntries.type(e, what);
        Inode inode = new Inode(type.modeBits() | (e.getMode() & 07777));
        inode.uid = id(e.getLongUserId(), "uid", what);
        inode.gid = id(e.getLongGroupId(), "gid", what);
        FileTime mt = e.getLastModifiedTime();
        if (mt != null) {
            Instant i = mt.toInstant();
            inode.mtimeSec = i.getEpochSecond();
            inode.mtimeNsec = i.getNano();
        }
        readXattrs(e, rawPax, inode, what);
        switch (type) {
            case REGULAR: {
                long size = e.isSparse() ? e.getRealSize() : e.getSize();
                inode.size = size;
                chunker.chunk(tin, size, what, inode.chunks);
                break;
            }
            case SYMLINK: {
                byte[] t = e.getLinkName().getBytes(StandardCharsets.UTF_8);
                if (t.length == 0 || t.length > MAX_SYMLINK_BYTES) {
                    throw new IOException(what + ": symlink target of " + t.length + " bytes; expected 1.."
                            + MAX_SYMLINK_BYTES);
                }
                inode.symlinkTarget = t;
                // Linux symlinks always carry 0777 (the mode field is ignored on extraction); keep what a
                // mount of the extracted layer would show
                inode.mode = FileType.SYMLINK.modeBits() | 0777;
                break;
            }
            case CHAR_DEVICE:
            case BLOCK_DEVICE: {
                inode.rdev = TarEntries.rdev(e.getDevMajor(), e.getDevMinor(), what);
                break;
            }
            default:
                break;
        }
        if (type == FileType.REGULAR && inode.size == 0 && !path.isEmpty()
                && (Whiteouts.isWhiteout(path.get(path.size() - 1)) || Whiteouts.isOpaqueMarker(path.get(path.size() - 1)))
                && tree.parentIsNonDirectory(path)) {
            // a whiteout below what this layer made a file: nothing of the old directory can show through
            LOG.debug("{}: ignoring whiteout below a non-directory", what);
            return;
        }
        tree.put(path, inode, what);
    }

    /** The parent image's node at {@code path}, unless this layer hides it (whiteout or opaque directory). */
    private Node lookupLower(List<byte[]> path) {
        Node n = lowerRoot;
        Node layer = tree.root();
        for (byte[] c : path) {
            if (layer != null) {
                if (layer.child(Whiteouts.OPAQUE.getBytes(StandardCharsets.US_ASCII)) != null) {
                    return null;
                }
                byte[] wh = (Whiteouts.PREFIX + new String(c, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                if (layer.child(wh) != null) {
                    return null;
                }
                layer = layer.inode().isDirectory() ? layer.child(c) : null;
            }
            if (!n.inode().isDirectory()) {
                return null;
            }
            n = n.child(c);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    private static boolean sameComponents(List<byte[]> a, List<byte[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!java.util.Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    private static int id(long v, String field, String what) throws IOException {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new IOException(what + ": " + field + " " + v + " out of range 0..4294967295");
        }
        return (int) v;
    }


    private static void readXattrs(TarArchiveEntry e, Map<String, byte[]> rawPax, Inode inode, String what)
            throws IOException {
        Map<String, String> decoded = new java.util.TreeMap<>(e.getExtraPaxHeaders());
        // commons-compress drops empty values ("unset" in POSIX); GNU tar writes empty xattrs exactly so
        for (Map.Entry<String, byte[]> r : rawPax.entrySet()) {
            if (r.getKey().startsWith(SCHILY_XATTR) && r.getValue().length == 0) {
                decoded.putIfAbsent(r.getKey(), "");
            }
        }
        for (Map.Entry<String, String> h : decoded.entrySet()) {
            String k = h.getKey();
            String name;
            byte[] value;
            if (k.startsWith(SCHILY_XATTR)) {
                name = k.substring(SCHILY_XATTR.length());
                // the raw bytes: the decoded string is lossy for binary values (security.capability)
                byte[] raw = rawPax.get(k);
                value = raw != null ? raw : h.getValue().getBytes(StandardCharsets.UTF_8);
            } else if (k.startsWith(LIBARCHIVE_XATTR)) {
                name = URLDecoder.decode(k.substring(LIBARCHIVE_XATTR.length()), StandardCharsets.UTF_8);
                try {
                    value = Base64.getDecoder().decode(h.getValue().trim());
                } catch (IllegalArgumentException ex) {
                    throw new IOException(what + ": xattr " + name + " has invalid base64 value", ex);
                }
            } else {
                continue;
            }
            if (!XattrNames.storable(name)) {
                LOG.warn("{}: xattr '{}' cannot be stored in RAFS (only user., trusted., security. and POSIX ACLs);"
                        + " dropped", what, name);
                continue;
            }
            if (value.length > XattrNames.MAX_VALUE_BYTES) {
                throw new IOException(what + ": xattr " + name + " value of " + value.length
                        + " bytes exceeds " + XattrNames.MAX_VALUE_BYTES);
            }
            inode.xattrs.put(name, value);
        }
    }
}
