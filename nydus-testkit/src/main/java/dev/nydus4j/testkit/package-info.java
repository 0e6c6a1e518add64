/**
 * Shared test support: {@link dev.nydus4j.testkit.BlobBackendConformanceTest} (the suite every storage backend
 * extends), {@link dev.nydus4j.testkit.FaultServer} (an HTTP Range server injecting faults),
 * {@link dev.nydus4j.testkit.TreeGenerator} / {@link dev.nydus4j.testkit.TreeSnapshot} (source trees and their
 * comparison), {@link dev.nydus4j.testkit.Fixtures} and {@link dev.nydus4j.testkit.LinuxXattrs}. Real servers
 * (registry, nginx) are in {@link dev.nydus4j.testkit.oci}.
 */
package dev.nydus4j.testkit;
