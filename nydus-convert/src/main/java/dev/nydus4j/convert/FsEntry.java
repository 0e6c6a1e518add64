package dev.nydus4j.convert;

import dev.nydus4j.api.FileType;

import java.util.Map;

/**
 * One path of a file tree as the checker compares it.
 *
 * @param path     "/" or "/a/b"
 * @param type     file type
 * @param mode     {@code mode & 07777}
 * @param mtimeSec whole seconds
 * @param size     bytes of a regular file, else 0
 * @param target   symlink target, else null
 * @param rdev     device number in Linux "new" encoding, else 0
 * @param xattrs   name → value (decoded as UTF-8: tar PAX headers carry text), null when not compared
 * @param sha256   hex content digest of a regular file, else null
 * @param nlink    link count of a regular file, else 0
 * @param implied  a directory the tar never listed (created for a child); its attributes are not compared
 */
record FsEntry(String path, FileType type, int mode, int uid, int gid, long mtimeSec, long size, String target,
               int rdev, Map<String, String> xattrs, String sha256, int nlink, boolean implied) {
}
