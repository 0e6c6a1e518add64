/**
 * Code the HTTP backends share: {@link dev.nydus4j.backend.objectstorage.TlsContexts} (all of them), and for the
 * object-storage backends ({@code oss}, {@code s3}) {@link dev.nydus4j.backend.objectstorage.ObjectHttp}
 * (one pooled, reference-counted HTTP client per config with TLS, proxy and timeouts) and
 * {@link dev.nydus4j.backend.objectstorage.ObjectBlobBackend} (HEAD for the size, signed Range GETs).
 */
package dev.nydus4j.backend.objectstorage;
