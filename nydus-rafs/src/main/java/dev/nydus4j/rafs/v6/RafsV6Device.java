package dev.nydus4j.rafs.v6;

/**
 * One validated device slot of a v6 bootstrap (spec 3.4), as needed by flat block-image export (spec 8.3).
 *
 * @param blobId        blob id (= the device tag)
 * @param blobIndex     position in the blob table
 * @param blocks        4096-byte blocks of the blob's uncompressed image
 * @param mappedBlkaddr first block of the blob's image in the flat view
 */
public record RafsV6Device(String blobId, int blobIndex, long blocks, long mappedBlkaddr) {
}
