/**
 * nydusify: converts OCI/Docker images into Nydus images and checks them.
 *
 * <p>Entry points: {@link dev.nydus4j.convert.Converter} ({@code convert}: per-layer nydus blobs built in parallel
 * from streamed layers, merged bootstrap, blobs / bootstrap layer / config / manifest or index pushed, API spec 6)
 * and {@link dev.nydus4j.convert.Checker} ({@code check}: manifest rules, bootstrap and every chunk, file-by-file
 * comparison with the source image's root file system). Images are named by
 * {@link dev.nydus4j.convert.ImageLocation}: a registry reference, {@code oci:DIR[:tag]} or
 * {@code docker-archive:FILE}. The command line is {@code dev.nydus4j.convert.cli.NydusifyCommand}.
 */
package dev.nydus4j.convert;
