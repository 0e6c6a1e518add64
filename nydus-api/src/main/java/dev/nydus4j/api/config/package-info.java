/**
 * The nydusd configuration model (upstream's v2 shape; v1 JSON converts to it). Parsing lives in
 * {@code dev.nydus4j.storage.config.NydusdConfigParser}.
 */
package dev.nydus4j.api.config;
