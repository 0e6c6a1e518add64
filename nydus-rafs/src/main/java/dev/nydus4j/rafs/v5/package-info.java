/**
 * RAFS v5 bootstraps (RAFS spec section 5): {@link dev.nydus4j.rafs.v5.RafsV5Reader} turns a legacy v5 bootstrap
 * into a {@link dev.nydus4j.rafs.tree.RafsTree}; {@link dev.nydus4j.rafs.v5.RafsV5Writer} writes one as upstream's
 * builder lays it out. One package-private class per on-disk structure (superblock, blob tables, inode record,
 * xattr table; the chunk record is shared with v6) reads and writes it; {@code RafsV5Layout} plans a write.
 */
package dev.nydus4j.rafs.v5;
