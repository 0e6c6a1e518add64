/**
 * Public read API of nydus4j: {@link dev.nydus4j.api.RafsFileSystem} and its value types. This module has no
 * implementation and next to no dependencies.
 */
package dev.nydus4j.api;
