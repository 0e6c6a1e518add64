/** Local blob cache files in upstream's work_dir layout ({@link dev.nydus4j.storage.cache.ChunkMap}). */
package dev.nydus4j.storage.cache;
