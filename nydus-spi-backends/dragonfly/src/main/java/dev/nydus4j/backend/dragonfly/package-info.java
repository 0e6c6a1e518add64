/**
 * The {@code dragonfly} storage backend: blob Range reads through a Dragonfly dfdaemon HTTP proxy with health
 * pings and fallback to the origin. Entry points: {@link dev.nydus4j.backend.dragonfly.DragonflyBackendProvider}
 * (registered through ServiceLoader) and its config {@link dev.nydus4j.backend.dragonfly.DragonflyConfig}.
 */
package dev.nydus4j.backend.dragonfly;
