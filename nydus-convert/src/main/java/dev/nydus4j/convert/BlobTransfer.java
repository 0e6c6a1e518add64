package dev.nydus4j.convert;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Puts blobs into the target: skips blobs it has, mounts across repositories of the same registry, else copies
 * through a verified temp file. Counts what moved in {@link ConvertMetrics}.
 */
final class BlobTransfer {
    private final ImageStore target;
    private final Path tempDir;
    private final ConvertMetrics metrics;

    BlobTransfer(ImageStore target, Path tempDir, ConvertMetrics metrics) {
        this.target = target;
        this.tempDir = tempDir;
        this.metrics = metrics;
    }

    /** Pushes a local file as blob {@code digest}. */
    void push(String digest, Path file) throws IOException {
        if (target.pushBlob(digest, file)) {
            metrics.blobsPushed.incrementAndGet();
            metrics.pushedBytes.addAndGet(Files.size(file));
        } else {
            metrics.blobsSkipped.incrementAndGet();
        }
    }

    void push(String digest, byte[] bytes) throws IOException {
        if (target.pushBlob(digest, bytes)) {
            metrics.blobsPushed.incrementAndGet();
            metrics.pushedBytes.addAndGet(bytes.length);
        } else {
            metrics.blobsSkipped.incrementAndGet();
        }
    }

    /** Makes blob {@code digest} of {@code from} present in the target. */
    void copy(ImageStore from, String digest, long size) throws IOException {
        if (target.blobSize(digest).isPresent()) {
            metrics.blobsSkipped.incrementAndGet();
            return;
        }
        if (target.mountBlob(digest, from)) {
            metrics.blobsMounted.incrementAndGet();
            return;
        }
        Path tmp = Files.createTempFile(tempDir, "copy-", ".blob");
        try {
            try (InputStream in = new VerifyingInputStream(from.openBlob(digest), "blob " + digest + " of "
                    + from.describe(), digest, size);
                 OutputStream out = Files.newOutputStream(tmp)) {
                long n = in.transferTo(out);
                metrics.pulledBytes.addAndGet(n);
            }
            push(digest, tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
