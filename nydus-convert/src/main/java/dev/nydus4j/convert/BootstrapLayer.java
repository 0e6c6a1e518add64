package dev.nydus4j.convert;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Date;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The bootstrap layer (API spec 6.3): a gzip tar with the directory {@code image/} (0755) and
 * {@code image/image.boot} (0444). Timestamps are zero so that the same bootstrap always gives the same layer
 * digest (a repeated conversion pushes nothing new).
 *
 * @param gzip   the layer bytes
 * @param digest sha256 of {@code gzip}
 * @param diffId sha256 of the uncompressed tar
 */
record BootstrapLayer(byte[] gzip, String digest, String diffId) {
    static final String BOOT_ENTRY = "image/image.boot";
    /** Bootstraps this large are refused when reading a layer back (untrusted input). */
    static final long MAX_BOOTSTRAP_BYTES = 1L << 30;

    static BootstrapLayer of(byte[] bootstrap) throws IOException {
        ByteArrayOutputStream tarBytes = new ByteArrayOutputStream(bootstrap.length + 4096);
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(tarBytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            TarArchiveEntry dir = new TarArchiveEntry("image/");
            dir.setMode(040755);
            dir.setModTime(new Date(0));
            tar.putArchiveEntry(dir);
            tar.closeArchiveEntry();
            TarArchiveEntry boot = new TarArchiveEntry(BOOT_ENTRY);
            boot.setMode(0100444);
            boot.setSize(bootstrap.length);
            boot.setModTime(new Date(0));
            tar.putArchiveEntry(boot);
            tar.write(bootstrap);
            tar.closeArchiveEntry();
            tar.finish();
        }
        byte[] tarData = tarBytes.toByteArray();
        ByteArrayOutputStream gz = new ByteArrayOutputStream(bootstrap.length / 2 + 4096);
        try (GZIPOutputStream out = new GZIPOutputStream(gz, 1 << 16)) {
            out.write(tarData);
        }
        byte[] gzip = gz.toByteArray();
        return new BootstrapLayer(gzip, Manifest.sha256(gzip), Manifest.sha256(tarData));
    }

    /**
     * Extracts {@code image/image.boot} (or legacy {@code image.boot}) from a bootstrap layer stream (gzip or plain
     * tar); empty when the layer has neither.
     */
    static Optional<byte[]> extract(InputStream layer, String what) throws IOException {
        InputStream in = new java.io.BufferedInputStream(layer);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        InputStream plain = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(in, 1 << 16) : in;
        TarArchiveInputStream tar = new TarArchiveInputStream(plain);
        byte[] legacy = null;
        for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
            String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
            if (!e.isFile() || !(name.equals(BOOT_ENTRY) || name.equals("image.boot"))) {
                continue;
            }
            if (e.getSize() > MAX_BOOTSTRAP_BYTES) {
                throw new IOException(what + ": " + name + " is " + e.getSize() + " bytes, more than the limit of "
                        + MAX_BOOTSTRAP_BYTES);
            }
            byte[] data = tar.readNBytes((int) e.getSize());
            if (name.equals(BOOT_ENTRY)) {
                return Optional.of(data);
            }
            legacy = data;
        }
        return Optional.ofNullable(legacy);
    }

    static Optional<byte[]> extract(byte[] layer, String what) throws IOException {
        return extract(new ByteArrayInputStream(layer), what);
    }
}
