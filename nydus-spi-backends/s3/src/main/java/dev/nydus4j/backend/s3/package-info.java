/**
 * The {@code s3} storage backend plugin (BACKENDS.md 4): {@link dev.nydus4j.backend.s3.S3BackendProvider}, bound
 * from {@link dev.nydus4j.backend.s3.S3Config}, reads blobs from S3-compatible object stores with SigV4-signed Range
 * GETs. Sees only {@code nydus-api}.
 */
package dev.nydus4j.backend.s3;
