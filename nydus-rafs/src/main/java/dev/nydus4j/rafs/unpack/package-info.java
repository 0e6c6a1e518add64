/**
 * Exporting an image's tree: {@link dev.nydus4j.rafs.unpack.TarUnpacker} writes a PAX tar stream,
 * {@link dev.nydus4j.rafs.unpack.DirectoryUnpacker} a directory (never writing outside its target). Both work on
 * any {@link dev.nydus4j.api.RafsFileSystem}.
 */
package dev.nydus4j.rafs.unpack;
