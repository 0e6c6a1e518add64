import dev.nydus4j.api.InodeAttributes;
import dev.nydus4j.api.RafsFileSystem;
import dev.nydus4j.rafs.RafsImage;
import dev.nydus4j.storage.LocalChunkReader;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Library use in a few lines: opens a bootstrap over a local blob directory and reads one file. Only the chunks of
 * that file are fetched and decompressed. Run with: java -cp nydus-cli/target/nydus4j-cli.jar scripts/ReadOneFile.java
 * BOOTSTRAP BLOB_DIR PATH
 */
public class ReadOneFile {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ReadOneFile BOOTSTRAP BLOB_DIR PATH");
            System.exit(1);
        }
        try (LocalChunkReader blobs = LocalChunkReader.forDirectory(Path.of(args[1]));
             RafsFileSystem fs = RafsImage.open(Path.of(args[0]), blobs)) {
            InodeAttributes attrs = fs.resolve(args[2])
                    .orElseThrow(() -> new IllegalArgumentException("no such file in the image: " + args[2]));
            ByteBuffer buf = ByteBuffer.allocate((int) attrs.size());
            while (buf.hasRemaining() && fs.read(attrs.ino(), buf.position(), buf) > 0) {
                // read() fills from the buffer position on; loop until the whole file is in
            }
            System.out.printf("%s: inode %d, mode 0%o, %d bytes:%n", args[2], attrs.ino(), attrs.mode(), attrs.size());
            System.out.print(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
        }
    }
}
