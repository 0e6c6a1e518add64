/**
 * Extension points of nydus4j. A storage backend plugin implements {@link dev.nydus4j.spi.BlobBackendProvider}
 * and {@link dev.nydus4j.spi.BlobBackend}; it sees only this module. A blob cache plugin implements {@link dev.nydus4j.spi.BlobCacheProvider} and
 * {@link dev.nydus4j.spi.BlobCache}, discovered the same way. The SPI evolves through default methods.
 */
package dev.nydus4j.spi;
