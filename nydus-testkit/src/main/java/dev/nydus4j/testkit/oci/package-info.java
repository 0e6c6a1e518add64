/**
 * Real OCI components for tests: {@link dev.nydus4j.testkit.oci.LocalRegistry} (docker-registry on 127.0.0.1),
 * {@link dev.nydus4j.testkit.oci.LayeredImage} (multi-layer images built with umoci) and
 * {@link dev.nydus4j.testkit.oci.OciTools} (skopeo copy / inspect), {@link dev.nydus4j.testkit.oci.NginxProxy} (nginx
 * caching proxy standing in for Dragonfly).
 */
package dev.nydus4j.testkit.oci;
