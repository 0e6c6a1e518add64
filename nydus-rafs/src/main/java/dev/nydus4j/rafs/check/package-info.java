/**
 * Image validation ({@code nydus-image check}): {@link dev.nydus4j.rafs.check.ImageChecker}.
 */
package dev.nydus4j.rafs.check;
