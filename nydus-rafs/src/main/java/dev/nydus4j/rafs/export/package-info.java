/**
 * Export of RAFS v6 images as flat block images with an optional dm-verity tree (spec 8.3). Entry point:
 * {@link dev.nydus4j.rafs.export.BlockImageExporter#export}.
 */
package dev.nydus4j.rafs.export;
