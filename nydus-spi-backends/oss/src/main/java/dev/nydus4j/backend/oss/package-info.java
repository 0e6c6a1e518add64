/**
 * The {@code oss} storage backend plugin (BACKENDS.md 3): {@link dev.nydus4j.backend.oss.OssBackendProvider}, bound
 * from {@link dev.nydus4j.backend.oss.OssConfig}, reads blobs from Alibaba Cloud OSS with V1-signed (HMAC-SHA1)
 * Range GETs. Sees only {@code nydus-api}.
 */
package dev.nydus4j.backend.oss;
