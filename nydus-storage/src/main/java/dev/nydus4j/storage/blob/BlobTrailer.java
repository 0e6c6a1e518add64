package dev.nydus4j.storage.blob;

import dev.nydus4j.api.CorruptImageException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The section trailer of a blob (RAFS spec 6.2, 6.9): finds the sections by walking the tar headers from the end
 * of the file back to offset 0, and cross-checks them against the ToC so that a damaged ToC or header can never
 * make a reader use misplaced or unverified section data.
 */
final class BlobTrailer {
    /** More sections than upstream ever writes (5) means the walk is following garbage. */
    private static final int MAX_SECTIONS = 32;

    private BlobTrailer() {
    }

    /**
     * The sections in file order; empty for a legacy blob, i.e. when the last 512 bytes carry neither the GNU
     * magic nor a known section name.
     */
    static List<BlobFile.Section> walk(FileChannel ch, long size, String res) throws IOException {
        if (size < TarHeader.SIZE) {
            return List.of();
        }
        byte[] last = BlobFile.read(ch, size, size - TarHeader.SIZE, TarHeader.SIZE, res);
        if (!TarHeader.isGnuMagic(last, 0) && !TarHeader.hasSectionName(last, 0)) {
            return List.of();
        }
        List<BlobFile.Section> found = new ArrayList<>();
        long end = size;
        while (end > 0) {
            if (found.size() == MAX_SECTIONS) {
                throw new CorruptImageException(res, end, "more than " + MAX_SECTIONS + " tar sections");
            }
            long headerOffset = end - TarHeader.SIZE;
            if (headerOffset < 0) {
                throw new CorruptImageException(res, end, "tar header walk does not reach offset 0: "
                        + end + " bytes left, less than a tar header");
            }
            byte[] h = BlobFile.read(ch, size, headerOffset, TarHeader.SIZE, res);
            TarHeader th = TarHeader.parse(h, 0, res, headerOffset);
            if (th.size() > headerOffset) {
                throw new CorruptImageException(res, headerOffset, "tar section '" + th.name() + "' size "
                        + th.size() + " exceeds the " + headerOffset + " bytes before its header");
            }
            long dataOffset = headerOffset - th.size();
            found.add(new BlobFile.Section(th.name(), dataOffset, th.size()));
            end = dataOffset;
        }
        Collections.reverse(found);
        return List.copyOf(found);
    }

    static void checkTocRanges(BlobToc toc, long size, String res, long tocOffset)
            throws CorruptImageException {
        for (BlobToc.Entry e : toc.entries()) {
            // nydus 2.2 wrote the end of the chunk data as the image.blob offset; that entry always starts at 0.
            long off = e.name().equals(TarHeader.IMAGE_BLOB) ? 0 : e.compressedOffset();
            if (off > size || e.compressedSize() > size - off) {
                throw new CorruptImageException(res, tocOffset, "ToC entry '" + e.name() + "' range [" + off
                        + ", +" + e.compressedSize() + ") lies outside the " + size + "-byte blob");
            }
            if (e.flags() == BlobToc.FLAG_NONE && e.compressedSize() != e.uncompressedSize()
                    && !e.name().equals(TarHeader.IMAGE_BLOB)) {
                throw new CorruptImageException(res, tocOffset, "ToC entry '" + e.name() + "' is uncompressed but "
                        + "stored size " + e.compressedSize() + " vs uncompressed size " + e.uncompressedSize());
            }
        }
    }

    /**
     * Every section but the ToC itself must be listed in the ToC at exactly its position, so that a damaged
     * ToC can never make a reader fall back to unverified or misplaced section data.
     */
    static void checkSectionsListed(BlobToc toc, List<BlobFile.Section> sections, String res)
            throws CorruptImageException {
        for (BlobFile.Section s : sections) {
            if (s.name().equals(TarHeader.TOC)) {
                continue;
            }
            BlobToc.Entry e = toc.find(s.name()).orElseThrow(() -> new CorruptImageException(res, s.dataOffset(),
                    "section '" + s.name() + "' is not listed in the ToC"));
            boolean ok;
            if (s.name().equals(TarHeader.IMAGE_BLOB)) {
                ok = e.compressedSize() == s.size();
            } else if (s.name().equals(TarHeader.BLOB_META)) {
                BlobToc.Entry h = toc.find(BlobToc.BLOB_META_HEADER).orElseThrow(() -> new CorruptImageException(
                        res, s.dataOffset(), "ToC lists blob.meta but not blob.meta.header"));
                ok = e.compressedOffset() == s.dataOffset()
                        && e.compressedSize() + BlobMetaHeader.SIZE == s.size()
                        && h.compressedOffset() == s.dataOffset() + e.compressedSize()
                        && h.compressedSize() == BlobMetaHeader.SIZE;
            } else {
                ok = e.compressedOffset() == s.dataOffset() && e.compressedSize() == s.size();
            }
            if (!ok) {
                throw new CorruptImageException(res, s.dataOffset(), "ToC entry '" + e.name() + "' at "
                        + e.compressedOffset() + " size " + e.compressedSize() + " vs section at " + s.dataOffset()
                        + " size " + s.size());
            }
        }
    }
}
