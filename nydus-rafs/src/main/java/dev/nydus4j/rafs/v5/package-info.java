/**
 * RAFS v5 bootstrap reader (RAFS spec section 5): {@link dev.nydus4j.rafs.v5.RafsV5Reader} turns a legacy v5
 * bootstrap into a {@link dev.nydus4j.rafs.tree.RafsTree}. One package-private flyweight per on-disk structure
 * (superblock, blob tables, inode record, xattr table, chunk record). Read support only; new images are v6.
 */
package dev.nydus4j.rafs.v5;
