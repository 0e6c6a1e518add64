package dev.nydus4j.api;

/**
 * One directory entry.
 *
 * @param name raw name bytes decoded as UTF-8 ({@link #rawName()} keeps the exact bytes)
 * @param ino  inode number of the target
 * @param type file type of the target
 */
public record DirEntry(String name, byte[] rawName, long ino, FileType type) {
}
