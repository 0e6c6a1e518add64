/** nydusd configuration parsing: {@link dev.nydus4j.storage.config.NydusdConfigParser}. */
package dev.nydus4j.storage.config;
