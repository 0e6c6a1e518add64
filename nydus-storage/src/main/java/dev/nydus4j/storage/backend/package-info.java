/**
 * Discovery and configuration of storage backend plugins ({@link dev.nydus4j.storage.backend.BackendRegistry}).
 */
package dev.nydus4j.storage.backend;
