/**
 * RAFS v6 bootstrap format (spec section 3): one flyweight per on-disk structure and the strict reader and
 * deterministic writer. Entry points: {@link dev.nydus4j.rafs.v6.RafsV6Reader#read(java.nio.file.Path)},
 * {@link dev.nydus4j.rafs.v6.RafsV6Writer#toBytes(dev.nydus4j.rafs.tree.RafsTree)}, and the public chunk-record
 * codec {@link dev.nydus4j.rafs.v6.ChunkRecord} shared with the v5 reader.
 */
package dev.nydus4j.rafs.v6;
